-- the signed-in user of a session token: {"id", "username", "csrf",
-- "role", "admin", "moderator"} (the last two: whether Raisin is theirs),
-- or NULL (site_session_entry())
CREATE OR REPLACE FUNCTION site_session(token text) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT site_session_entry(token) -> 'me'
$$;
