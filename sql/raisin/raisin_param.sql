-- a query parameter's text, bounded; NULL when absent or empty
CREATE OR REPLACE FUNCTION raisin_param(args jsonb, key text, max integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN raisin_trim(args ->> key) = '' THEN NULL
                ELSE left(raisin_trim(args ->> key), max) END
$$;
