-- a frame queued for the hub wakes its owner, which listens on
-- grapevine_outbox and sends the pending frames in order
CREATE OR REPLACE FUNCTION hub_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('grapevine_outbox', NEW.id::text);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER hub_outbox_notify AFTER INSERT ON hub_outbox
    FOR EACH ROW EXECUTE FUNCTION hub_outbox_notify();
