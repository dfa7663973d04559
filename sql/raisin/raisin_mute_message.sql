-- whoever stores a message (the Backbone, a test), a muted sender's is
-- hidden from the public
CREATE OR REPLACE FUNCTION raisin_mute_message() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT m.id INTO NEW.mute_id
    FROM raisin_mutes m
    WHERE lower(m.player) = lower(NEW.player_name)
      AND lower(m.game) = lower(NEW.game_name)
      AND m.lifted_at IS NULL AND m.until > clock_timestamp()
    ORDER BY m.until DESC
    LIMIT 1;

    IF NEW.mute_id IS NOT NULL THEN
        NEW.hidden := true;
    END IF;

    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER channel_messages_mute
    BEFORE INSERT ON channel_messages FOR EACH ROW EXECUTE FUNCTION raisin_mute_message();
