-- A new session for a user; deletes the old one of the same browser.
-- args: new_token, new_csrf, session_ttl (seconds), old_token (the
-- browser's session cookie, if any), address, user_agent.
CREATE OR REPLACE FUNCTION site_new_session(uid bigint, args jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF args ->> 'old_token' IS NOT NULL THEN
        DELETE FROM sessions
        WHERE token_hash = site_token_hash(args ->> 'old_token');
    END IF;

    DELETE FROM sessions WHERE expires_at < now();

    INSERT INTO sessions (token_hash, user_id, csrf_token, address,
                          user_agent, expires_at)
    VALUES (site_token_hash(args ->> 'new_token'), uid, args ->> 'new_csrf',
            args ->> 'address', left(args ->> 'user_agent', 500),
            now() + make_interval(secs => (args ->> 'session_ttl')::integer));
END
$$;
