-- the hub link as a page shows it to the signed-in (the channel page's
-- send form): {"connected", "waiting"}: whether it is up and, when it is
-- not, how many frames wait in the outbox to go out (counted up to 1,000)
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
                            LIMIT 1000) AS w) END);
END
$$;
