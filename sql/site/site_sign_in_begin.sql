-- Signing in, before the password is verified: the account a login names
-- ({"user_id", "password_hash", "account"}), or 429 when the account or
-- the address is throttled.  args: login, address and the throttle's
-- limits.
CREATE OR REPLACE FUNCTION site_sign_in_begin(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    acct  record;
BEGIN
    SELECT * INTO acct FROM site_sign_in_account(args ->> 'login');

    IF site_throttled(acct.account, args ->> 'address', args) THEN
        RETURN site_status(429);
    END IF;

    RETURN jsonb_build_object('user_id', acct.id,
                              'password_hash', acct.password_hash,
                              'account', acct.account);
END
$$;
