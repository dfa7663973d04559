-- A change of settings, before the current password is verified: the
-- settings page's data with the account's hash and throttle key, the new
-- email address's problems, or 429 when throttled.  args: email (when it
-- changes), address and the throttle's limits.
CREATE OR REPLACE FUNCTION site_settings_begin(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    acct  record;
    res   jsonb;
BEGIN
    SELECT * INTO acct FROM site_sign_in_account(me ->> 'username');

    IF site_throttled(acct.account, args ->> 'address', args) THEN
        RETURN site_status(429);
    END IF;

    res := site_settings(me, '{}')
           || jsonb_build_object(
                  'password_hash', (SELECT password_hash FROM users
                                    WHERE id = (me ->> 'id')::bigint),
                  'account_key', acct.account);

    IF args ? 'email' THEN
        res := res || jsonb_build_object(
            'errors', site_account_errors(NULL, args ->> 'email'));
    END IF;

    RETURN res;
END
$$;
