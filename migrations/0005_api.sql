-- 0005: channel messages that arrived before their channel's record.
--
-- A channels/broadcast is stored with channel_id NULL when its channel is
-- not synced yet (the hub may relay chat before sync/channels, or before a
-- new channel's record is pushed).  Channel history, in the API and on the
-- site, is read by channel_id, so such messages never showed.  Whenever a
-- channel row is inserted, or renamed, the messages stored under its name
-- without a channel are given it; the ones already stored are given theirs
-- here.  Only messages without a channel are indexed for this.

CREATE INDEX channel_messages_orphans_idx
    ON channel_messages (lower(channel_name)) WHERE channel_id IS NULL;

CREATE FUNCTION channels_adopt_messages()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE channel_messages SET channel_id = NEW.id
    WHERE channel_id IS NULL AND lower(channel_name) = lower(NEW.name);
    RETURN NULL;
END
$$;

CREATE TRIGGER channels_adopt_messages
    AFTER INSERT OR UPDATE OF name ON channels
    FOR EACH ROW EXECUTE FUNCTION channels_adopt_messages();

UPDATE channel_messages m SET channel_id = c.id
FROM channels c
WHERE m.channel_id IS NULL AND lower(m.channel_name) = lower(c.name);

-- Every change to a table the JSON API reads is announced on the channel
-- grapevine_api with the table's name, once per statement (and, as
-- PostgreSQL folds equal notifications, once per table and transaction).
-- Each nginx worker listens there and drops its cached API answers that
-- read that table (src/grapevine/ngx_grapevine_api_cache.c).
CREATE FUNCTION api_changed()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('grapevine_api', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t  text;
BEGIN
    FOREACH t IN ARRAY ARRAY['games', 'game_connections', 'players_online',
                             'events', 'achievements', 'users', 'characters',
                             'channels', 'channel_messages']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE '
                       'OR TRUNCATE ON %I FOR EACH STATEMENT '
                       'EXECUTE FUNCTION api_changed()',
                       t || '_api_changed', t);
    END LOOP;
END
$$;
