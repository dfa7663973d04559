-- players/sign-in: the player is online in the game, and so is the game.
-- False when the game is not stored.
CREATE OR REPLACE FUNCTION backbone_sign_in(game text, player text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    gid  bigint := backbone_game_by_name(game);
BEGIN
    IF gid IS NULL THEN
        RETURN false;
    END IF;

    IF player <> '' THEN
        INSERT INTO players_online (game_id, name)
        VALUES (gid, player)
        ON CONFLICT (game_id, lower(name)) DO NOTHING;

        UPDATE games SET online = true, last_seen_at = now()
        WHERE id = gid;
    END IF;

    RETURN true;
END
$$;
