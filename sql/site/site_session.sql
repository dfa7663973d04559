-- the signed-in user of a session token: {"id", "username", "csrf",
-- "role", "admin", "moderator"} (the last two: whether Raisin is theirs),
-- or NULL
CREATE OR REPLACE FUNCTION site_session(token text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    s   record;
BEGIN
    IF token IS NULL THEN
        RETURN NULL;
    END IF;

    SELECT se.id, se.csrf_token, se.last_seen_at, u.id AS user_id,
           u.username, u.role
    INTO s
    FROM sessions se JOIN users u ON u.id = se.user_id
    WHERE se.token_hash = site_token_hash(token)
      AND se.expires_at > now() AND u.suspended_at IS NULL;

    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    IF s.last_seen_at < now() - interval '10 minutes' THEN
        UPDATE sessions SET last_seen_at = now() WHERE id = s.id;
    END IF;

    RETURN jsonb_build_object('id', s.user_id, 'username', s.username,
                              'csrf', s.csrf_token, 'role', s.role,
                              'admin', s.role = 'admin',
                              'moderator', s.role IN ('moderator', 'admin'));
END
$$;
