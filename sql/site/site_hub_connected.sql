-- whether the hub link is up (what its owner last reported): messages
-- sent while it is not wait in hub_outbox and go out when it is back
CREATE OR REPLACE FUNCTION site_hub_connected() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT state IN ('syncing', 'live') FROM hub_status
                     WHERE id = 1), false)
$$;
