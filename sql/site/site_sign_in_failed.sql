-- A wrong password (signing in, or in the settings): one more failure
-- counted for the account and the address.  args: account, address.
CREATE OR REPLACE FUNCTION site_sign_in_failed(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sign_in_failures WHERE at < now() - interval '1 day';

    INSERT INTO sign_in_failures (account, address)
    VALUES (args ->> 'account', args ->> 'address');

    RETURN '{}';
END
$$;
