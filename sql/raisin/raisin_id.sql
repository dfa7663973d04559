-- an id from a path or a parameter: digits that fit a bigint, or NULL
CREATE OR REPLACE FUNCTION raisin_id(s text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN s ~ '^[0-9]{1,18}$' THEN s::bigint END
$$;
