-- 0005: channel messages that arrived before their channel's record.
--
-- A channels/broadcast is stored with channel_id NULL when its channel is
-- not synced yet (the hub may relay chat before sync/channels, or before a
-- new channel's record is pushed).  Channel history, in the API and on the
-- site, is read by channel_id, so such messages never showed.  Whenever a
-- channel row is inserted, or renamed, the messages stored under its name
-- without a channel are given it (a trigger, in sql/backbone/); the ones
-- already stored are given theirs here.  Only messages without a channel
-- are indexed for this.  (The API's answer cache is told of changes by the
-- triggers of sql/api/.)

CREATE INDEX channel_messages_orphans_idx
    ON channel_messages (lower(channel_name)) WHERE channel_id IS NULL;

UPDATE channel_messages m SET channel_id = c.id
FROM channels c
WHERE m.channel_id IS NULL AND lower(m.channel_name) = lower(c.name);
