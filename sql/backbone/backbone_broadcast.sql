-- A channels/broadcast, into its channel's history.  A message the hub
-- relays twice (the same ref) is stored once.  A message on a channel not
-- stored yet gets its channel when the channel's record comes
-- (channels_adopt_messages).
CREATE OR REPLACE FUNCTION backbone_broadcast(channel text, game text,
                                              player text, message text,
                                              ref text)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO channel_messages (channel_id, channel_name, game_name,
                                  player_name, message, hub_ref)
    SELECT (SELECT c.id FROM channels c
            WHERE lower(c.name) = lower(backbone_broadcast.channel)),
           backbone_broadcast.channel, backbone_broadcast.game,
           backbone_broadcast.player, backbone_broadcast.message,
           backbone_broadcast.ref
    ON CONFLICT (hub_ref) DO NOTHING
$$;
