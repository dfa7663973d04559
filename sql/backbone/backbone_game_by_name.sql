CREATE OR REPLACE FUNCTION backbone_game_by_name(short text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT id FROM games WHERE lower(short_name) = lower(short)
$$;
