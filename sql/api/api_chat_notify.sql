-- Every message stored in a channel's history, and every message hidden
-- there, is announced on the channel grapevine_chat: the message's id when
-- it is stored, "h" and its id when it is hidden.  Each nginx worker
-- listens there and feeds its open streams (src/api/ngx_grapevine_api_
-- stream.c): a payload is an id, the stream reads what it needs.
CREATE OR REPLACE FUNCTION api_chat_notify()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('grapevine_chat', NEW.id::text);
    ELSIF NEW.hidden AND NOT OLD.hidden THEN
        PERFORM pg_notify('grapevine_chat', 'h' || NEW.id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER channel_messages_chat_notify
    AFTER INSERT OR UPDATE OF hidden ON channel_messages
    FOR EACH ROW EXECUTE FUNCTION api_chat_notify();
