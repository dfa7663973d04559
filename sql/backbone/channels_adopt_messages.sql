-- Chat may come before its channel's record (the hub may relay it before
-- sync/channels, or before a new channel's record is pushed): such a
-- message is stored without a channel, and channel history is read by
-- channel_id.  Whenever a channel row is inserted or renamed, the messages
-- stored under its name without a channel are given it.
CREATE OR REPLACE FUNCTION channels_adopt_messages()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE channel_messages SET channel_id = NEW.id
    WHERE channel_id IS NULL AND lower(channel_name) = lower(NEW.name);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER channels_adopt_messages
    AFTER INSERT OR UPDATE OF name ON channels
    FOR EACH ROW EXECUTE FUNCTION channels_adopt_messages();
