-- "since" for the next sync request: NULL (everything) until each kind of
-- record has been synced once.
CREATE OR REPLACE FUNCTION backbone_since() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN count(*) = 4 THEN min(value) END
    FROM settings
    WHERE name IN ('hub_since:channels', 'hub_since:games',
                   'hub_since:events', 'hub_since:achievements')
$$;
