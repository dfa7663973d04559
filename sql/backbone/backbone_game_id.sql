CREATE OR REPLACE FUNCTION backbone_game_id(remote bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    gid bigint;
BEGIN
    SELECT id INTO gid FROM games WHERE remote_id = remote;
    IF gid IS NULL THEN
        RAISE EXCEPTION 'game % is unknown', remote;
    END IF;
    RETURN gid;
END
$$;
