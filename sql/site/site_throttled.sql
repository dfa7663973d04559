-- Whether a password may be tried for an account from an address now:
-- the attempts within the period (the failures, and the attempts under
-- way, which count as failures until they succeed) per account and
-- address ("throttle_account"), per address whatever the account
-- ("throttle_address"), and per account from every address, the backstop
-- ("throttle_backstop").  args: those limits and throttle_period
-- (seconds).
CREATE OR REPLACE FUNCTION site_throttled(account text, address text,
                                          args jsonb)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT count(*) FILTER (WHERE f.account = site_throttled.account
                              AND f.address = site_throttled.address)
               >= (args ->> 'throttle_account')::integer
        OR count(*) FILTER (WHERE f.address = site_throttled.address)
               >= (args ->> 'throttle_address')::integer
        OR count(*) FILTER (WHERE f.account = site_throttled.account)
               >= (args ->> 'throttle_backstop')::integer
    FROM sign_in_failures f
    WHERE (f.account = site_throttled.account
           OR f.address = site_throttled.address)
      AND f.at > now() - make_interval(
                             secs => (args ->> 'throttle_period')::integer)
$$;
