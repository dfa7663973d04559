-- games/connect and a games/status reply (online), games/disconnect (not
-- online, and nobody plays it).  False when the game is not stored.
CREATE OR REPLACE FUNCTION backbone_game_online(game text, is_online boolean)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    gid  bigint := backbone_game_by_name(game);
BEGIN
    IF gid IS NULL THEN
        RETURN false;
    END IF;

    IF is_online THEN
        UPDATE games SET online = true, last_seen_at = now()
        WHERE id = gid;

    ELSE
        UPDATE games SET online = false WHERE id = gid;
        DELETE FROM players_online WHERE game_id = gid;
    END IF;

    RETURN true;
END
$$;
