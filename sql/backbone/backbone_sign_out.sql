-- players/sign-out: the player is no longer online in the game.  False
-- when the game is not stored.
CREATE OR REPLACE FUNCTION backbone_sign_out(game text, player text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    gid  bigint := backbone_game_by_name(game);
BEGIN
    IF gid IS NULL THEN
        RETURN false;
    END IF;

    DELETE FROM players_online
    WHERE game_id = gid AND lower(name) = lower(player);

    RETURN true;
END
$$;
