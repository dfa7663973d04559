-- A new account's problems, as {"field": ["code", ...]}: the username's
-- and the email address's (site_account_errors()), a reserved username
-- (site_reserved_username()), and a username or an address that a sign-up
-- under way has taken (sign_ups).  args: username, email, site_name.
CREATE OR REPLACE FUNCTION site_sign_up_errors(args jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    errors  jsonb := site_account_errors(args ->> 'username',
                                         args ->> 'email');
BEGIN
    IF NOT errors ? 'username'
       AND site_reserved_username(args ->> 'username', args ->> 'site_name')
    THEN
        errors := errors || '{"username": ["username_reserved"]}';
    END IF;

    IF NOT errors ? 'username'
       AND EXISTS (SELECT 1 FROM sign_ups s
                   WHERE s.username = lower(args ->> 'username'))
    THEN
        errors := errors || '{"username": ["username_taken"]}';
    END IF;

    IF NOT errors ? 'email'
       AND EXISTS (SELECT 1 FROM sign_ups s
                   WHERE s.email = lower(args ->> 'email'))
    THEN
        errors := errors || '{"email": ["email_taken"]}';
    END IF;

    RETURN errors;
END
$$;
