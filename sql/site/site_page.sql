-- The page number of a list (args ->> 'page'), from 1; anything else is
-- page 1, and a page beyond 10000 is 10000.
CREATE OR REPLACE FUNCTION site_page(args jsonb) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN coalesce(args ->> 'page', '') ~ '^[0-9]{1,9}$'
                THEN least(greatest((args ->> 'page')::integer, 1), 10000)
                ELSE 1 END
$$;
