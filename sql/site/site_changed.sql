-- The tables the player site's pages read besides those of the JSON API
-- (the counts that the triggers of site_counts and site_chat_counts keep)
-- announce every change on the channel grapevine_site with the table's
-- name, once per statement, as api_changed() does for the API's tables
-- on grapevine_api: the answer cache keeps the site's pages exact with
-- both (src/site/ngx_grapevine_site_cache.c).  A channel of their own, so
-- that an instance without the site is not told of tables it never reads.
CREATE OR REPLACE FUNCTION site_changed()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('grapevine_site', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER game_counts_site_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON game_counts
    FOR EACH STATEMENT EXECUTE FUNCTION site_changed();

CREATE OR REPLACE TRIGGER site_counts_site_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON site_counts
    FOR EACH STATEMENT EXECUTE FUNCTION site_changed();

CREATE OR REPLACE TRIGGER chat_minutes_site_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON chat_minutes
    FOR EACH STATEMENT EXECUTE FUNCTION site_changed();

CREATE OR REPLACE TRIGGER channel_counts_site_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON channel_counts
    FOR EACH STATEMENT EXECUTE FUNCTION site_changed();
