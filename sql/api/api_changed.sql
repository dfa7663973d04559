-- Every change to a table the JSON API reads is announced on the channel
-- grapevine_api with the table's name, once per statement (and, as
-- PostgreSQL folds equal notifications, once per table and transaction).
-- Each nginx worker listens there and drops its cached API answers that
-- read that table (src/core/ngx_grapevine_cache.c; the API registers its
-- tables, src/api/ngx_grapevine_api_queries.c).
CREATE OR REPLACE FUNCTION api_changed()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('grapevine_api', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

-- the tables the API reads
CREATE OR REPLACE TRIGGER games_api_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON games
    FOR EACH STATEMENT EXECUTE FUNCTION api_changed();

CREATE OR REPLACE TRIGGER game_connections_api_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON game_connections
    FOR EACH STATEMENT EXECUTE FUNCTION api_changed();

CREATE OR REPLACE TRIGGER players_online_api_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON players_online
    FOR EACH STATEMENT EXECUTE FUNCTION api_changed();

CREATE OR REPLACE TRIGGER events_api_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION api_changed();

CREATE OR REPLACE TRIGGER achievements_api_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON achievements
    FOR EACH STATEMENT EXECUTE FUNCTION api_changed();

CREATE OR REPLACE TRIGGER users_api_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION api_changed();

CREATE OR REPLACE TRIGGER characters_api_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON characters
    FOR EACH STATEMENT EXECUTE FUNCTION api_changed();

CREATE OR REPLACE TRIGGER channels_api_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON channels
    FOR EACH STATEMENT EXECUTE FUNCTION api_changed();

CREATE OR REPLACE TRIGGER channel_messages_api_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON channel_messages
    FOR EACH STATEMENT EXECUTE FUNCTION api_changed();
