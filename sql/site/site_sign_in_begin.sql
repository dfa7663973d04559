-- Signing in, before the password is verified: the account a login names
-- ({"user_id", "password_hash", "account"}) and the attempt counted for it
-- ("attempt"), or 429 when the account or the address is throttled.
-- args: login, address and the throttle's limits.
CREATE OR REPLACE FUNCTION site_sign_in_begin(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    acct     record;
    attempt  bigint;
BEGIN
    SELECT * INTO acct FROM site_sign_in_account(args ->> 'login');

    attempt := site_sign_in_attempt(acct.account, args ->> 'address', args);

    IF attempt IS NULL THEN
        RETURN site_status(429);
    END IF;

    RETURN jsonb_build_object('user_id', acct.id,
                              'password_hash', acct.password_hash,
                              'account', acct.account,
                              'attempt', attempt);
END
$$;
