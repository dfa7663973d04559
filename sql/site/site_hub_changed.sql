-- The hub link's state as site_hub() reads it, announced on the channel
-- grapevine_site: "hub_status" when the link may have gone up or down (its
-- state changes, its row comes or goes, or its owner reports again after
-- more than 15 s of silence), not at each regular report that only moves
-- updated_at; "hub_outbox" when the frames waiting to go out change.  The
-- site keeps site_hub()'s answer until then (and, while the link is up,
-- until its "until").
CREATE OR REPLACE FUNCTION site_hub_changed()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('grapevine_site', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER hub_status_state_site_changed
    AFTER UPDATE ON hub_status FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state
          OR OLD.updated_at <= now() - interval '15 seconds')
    EXECUTE FUNCTION site_hub_changed();

CREATE OR REPLACE TRIGGER hub_status_row_site_changed
    AFTER INSERT OR DELETE ON hub_status FOR EACH ROW
    EXECUTE FUNCTION site_hub_changed();

CREATE OR REPLACE TRIGGER hub_status_truncated_site_changed
    AFTER TRUNCATE ON hub_status
    FOR EACH STATEMENT EXECUTE FUNCTION site_hub_changed();

CREATE OR REPLACE TRIGGER hub_outbox_site_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON hub_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION site_hub_changed();
