-- Presence events and channel messages.  Returns rows naming anything it
-- could not use.
CREATE OR REPLACE FUNCTION backbone_ingest(frame jsonb)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    ev   text := frame ->> 'event';
    p    jsonb := frame -> 'payload';
    gid  bigint;
BEGIN
    IF ev LIKE 'sync/%' THEN
        RETURN QUERY SELECT * FROM backbone_sync(substr(ev, 6), p);
        RETURN;
    END IF;

    IF jsonb_typeof(p) IS DISTINCT FROM 'object' THEN
        RETURN;
    END IF;

    IF ev = 'channels/broadcast' THEN
        INSERT INTO channel_messages (channel_id, channel_name, game_name,
                                      player_name, message, hub_ref)
        SELECT (SELECT id FROM channels
                WHERE lower(name) = lower(p ->> 'channel')),
               p ->> 'channel', p ->> 'game', p ->> 'name', p ->> 'message',
               frame ->> 'ref'
        WHERE p ->> 'channel' IS NOT NULL AND p ->> 'game' IS NOT NULL
          AND p ->> 'name' IS NOT NULL AND p ->> 'message' IS NOT NULL
        ON CONFLICT (hub_ref) DO NOTHING;
        RETURN;
    END IF;

    gid := backbone_game_by_name(p ->> 'game');

    IF gid IS NULL THEN
        IF p ? 'game' THEN
            RETURN NEXT format('%s: game "%s" is unknown', ev, p ->> 'game');
        END IF;
        RETURN;
    END IF;

    IF ev = 'players/sign-in' AND p ->> 'name' <> '' THEN
        INSERT INTO players_online (game_id, name)
        VALUES (gid, p ->> 'name')
        ON CONFLICT (game_id, lower(name)) DO NOTHING;
        UPDATE games SET online = true, last_seen_at = now()
        WHERE id = gid;

    ELSIF ev = 'players/sign-out' THEN
        DELETE FROM players_online
        WHERE game_id = gid AND lower(name) = lower(p ->> 'name');

    ELSIF ev = 'players/status'
          AND jsonb_typeof(p -> 'players') = 'array'
    THEN
        DELETE FROM players_online WHERE game_id = gid;
        INSERT INTO players_online (game_id, name)
        SELECT DISTINCT ON (lower(n)) gid, n
        FROM jsonb_array_elements_text(p -> 'players') AS n
        WHERE n <> ''
        ON CONFLICT DO NOTHING;
        UPDATE games SET online = true, last_seen_at = now()
        WHERE id = gid;

    ELSIF ev IN ('games/connect', 'games/status') THEN
        UPDATE games SET online = true, last_seen_at = now()
        WHERE id = gid;

    ELSIF ev = 'games/disconnect' THEN
        UPDATE games SET online = false WHERE id = gid;
        DELETE FROM players_online WHERE game_id = gid;
    END IF;
END
$$;
