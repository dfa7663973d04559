-- Signing up, before the password is hashed: the username's and the email
-- address's problems, as {"errors": {"field": ["code", ...]}}.  args:
-- username, email.
CREATE OR REPLACE FUNCTION site_sign_up_check(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'errors', site_account_errors(args ->> 'username', args ->> 'email'))
$$;
