-- A change of settings, before the current password is verified: the
-- settings page's data with the new email address's problems; and when
-- there are none and the form had none ("check"), the account's hash and
-- the attempt counted for it (site_sign_in_attempt(): the current
-- password shares the sign-in throttle), or 429 when throttled.  args:
-- email (when it changes), check, address and the throttle's limits.
CREATE OR REPLACE FUNCTION site_settings_begin(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    res      jsonb := site_settings(me, '{}');
    errors   jsonb := '{}';
    account  text := 'user:' || (me ->> 'id');
    attempt  bigint;
BEGIN
    IF args ? 'email' THEN
        errors := site_account_errors(NULL, args ->> 'email');
    END IF;

    IF errors <> '{}' OR NOT coalesce((args ->> 'check')::boolean, false)
    THEN
        RETURN res || jsonb_build_object('errors', errors);
    END IF;

    attempt := site_sign_in_attempt(account, args ->> 'address', args);

    IF attempt IS NULL THEN
        RETURN site_status(429);
    END IF;

    RETURN res || jsonb_build_object(
        'errors', errors,
        'password_hash', (SELECT password_hash FROM users
                          WHERE id = (me ->> 'id')::bigint),
        'attempt', attempt);
END
$$;
