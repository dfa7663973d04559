-- the message for a query parameter longer than max characters, or NULL
CREATE OR REPLACE FUNCTION raisin_too_long(args jsonb, key text, max integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(raisin_trim(args ->> key)) > max
                THEN key || ' has at most ' || max || ' characters.' END
$$;
