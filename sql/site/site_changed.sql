-- The tables the player site's pages read besides those the JSON API reads
-- (the counts the triggers of site_counts and site_chat_counts keep)
-- announce every change on the same channel as the API's tables
-- (api_changed(), sql/api/api_changed.sql): the answer cache's signed-out
-- pages are read from them (src/site/ngx_grapevine_site_cache.c).
CREATE OR REPLACE TRIGGER game_counts_api_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON game_counts
    FOR EACH STATEMENT EXECUTE FUNCTION api_changed();

CREATE OR REPLACE TRIGGER site_counts_api_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON site_counts
    FOR EACH STATEMENT EXECUTE FUNCTION api_changed();

CREATE OR REPLACE TRIGGER chat_minutes_api_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON chat_minutes
    FOR EACH STATEMENT EXECUTE FUNCTION api_changed();

CREATE OR REPLACE TRIGGER channel_counts_api_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON channel_counts
    FOR EACH STATEMENT EXECUTE FUNCTION api_changed();
