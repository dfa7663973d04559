-- a session token's entry: {"me": the signed-in user (site_session()),
-- "expires": when the session ends (seconds since the epoch)}, or NULL.
-- The site keeps it in the answer cache for at most a minute, exact by
-- the changes of users and sessions (site_session_changed()), and asks
-- again after that: last_seen_at is written here, once in 10 minutes.
CREATE OR REPLACE FUNCTION site_session_entry(token text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    s   record;
BEGIN
    IF token IS NULL THEN
        RETURN NULL;
    END IF;

    SELECT se.id, se.csrf_token, se.last_seen_at, se.expires_at,
           u.id AS user_id, u.username, u.role
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

    RETURN jsonb_build_object(
        'me', jsonb_build_object('id', s.user_id, 'username', s.username,
                                 'csrf', s.csrf_token, 'role', s.role,
                                 'admin', s.role = 'admin',
                                 'moderator', s.role IN ('moderator',
                                                         'admin')),
        'expires', floor(extract(epoch FROM s.expires_at))::bigint);
END
$$;
