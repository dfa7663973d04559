-- A players/status reply: the game is online with exactly these players
-- (empty names left out); without a list (NULL) nothing changes.  False
-- when the game is not stored.
CREATE OR REPLACE FUNCTION backbone_players(game text, players text[])
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    gid  bigint := backbone_game_by_name(game);
BEGIN
    IF gid IS NULL THEN
        RETURN false;
    END IF;

    IF players IS NULL THEN
        RETURN true;
    END IF;

    DELETE FROM players_online WHERE game_id = gid;

    INSERT INTO players_online (game_id, name)
    SELECT DISTINCT ON (lower(p)) gid, p
    FROM unnest(players) AS p
    WHERE p <> ''
    ON CONFLICT DO NOTHING;

    UPDATE games SET online = true, last_seen_at = now()
    WHERE id = gid;

    RETURN true;
END
$$;
