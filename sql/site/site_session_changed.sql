-- A session that ends (signing out, a new password, Raisin suspending or
-- deleting its user, expired ones cleared) or whose user, token or end
-- changes is announced on the channel grapevine_site as "sessions", so
-- that the sessions the answer cache keeps (site_session_entry()) are
-- dropped before the next request; a statement that deletes nothing, and
-- last_seen_at being written, are not announced (they would drop every
-- kept session for nothing).  The users' changes are announced on
-- grapevine_api (api_changed()).
CREATE OR REPLACE FUNCTION site_session_changed()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM gone) THEN
            RETURN NULL;
        END IF;
    END IF;

    PERFORM pg_notify('grapevine_site', 'sessions');

    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER sessions_deleted_site_changed
    AFTER DELETE ON sessions REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION site_session_changed();

CREATE OR REPLACE TRIGGER sessions_changed_site_changed
    AFTER UPDATE OF token_hash, user_id, csrf_token, expires_at ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION site_session_changed();

CREATE OR REPLACE TRIGGER sessions_truncated_site_changed
    AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION site_session_changed();
