-- the hub link as a page shows it to the signed-in (the channel page's
-- send form): {"connected", "waiting", "until"}: whether it is up and,
-- when it is not, how many frames wait in the outbox to go out (counted
-- up to 1,000); while it is up, "until" is when it stops being up unless
-- its owner reports again (seconds since the epoch: site_hub_connected()'s
-- 15 s after the last report).  The site keeps the answer until a change
-- is announced (site_hub_changed()) and, while the link is up, no longer
-- than "until".
CREATE OR REPLACE FUNCTION site_hub() RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    connected boolean := site_hub_connected();
BEGIN
    RETURN jsonb_build_object(
        'connected', connected,
        'waiting', CASE WHEN NOT connected THEN
                       (SELECT count(*) FROM (
                            SELECT 1 FROM hub_outbox
                            WHERE sent_at IS NULL
                            LIMIT 1000) AS w) END,
        'until', CASE WHEN connected THEN
                     (SELECT floor(extract(epoch FROM updated_at
                                           + interval '15 seconds'))::bigint
                      FROM hub_status WHERE id = 1) END);
END
$$;
