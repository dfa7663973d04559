-- whether the hub link is up, as its owner reports it (every 5 s; a
-- report older than 15 s, as /_status's "stale", means no owner is
-- there): messages sent while it is not wait in hub_outbox and go out
-- when it is back
CREATE OR REPLACE FUNCTION site_hub_connected() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT state IN ('syncing', 'live')
                            AND updated_at > now() - interval '15 seconds'
                     FROM hub_status WHERE id = 1), false)
$$;
