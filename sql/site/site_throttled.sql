-- Failures of an account and of an address within the period, and whether
-- either reached its limit.  args: throttle_account, throttle_address,
-- throttle_period (seconds).
CREATE OR REPLACE FUNCTION site_throttled(account text, address text, args jsonb)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM sign_in_failures f
            WHERE f.account = site_throttled.account
              AND f.at > now() - make_interval(
                      secs => (args ->> 'throttle_period')::integer))
           >= (args ->> 'throttle_account')::integer
        OR (SELECT count(*) FROM sign_in_failures f
            WHERE f.address = site_throttled.address
              AND f.at > now() - make_interval(
                      secs => (args ->> 'throttle_period')::integer))
           >= (args ->> 'throttle_address')::integer
$$;
