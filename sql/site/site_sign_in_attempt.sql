-- An attempt to check a password for an account from an address (signing
-- in, or the current password in the settings), counted before the
-- password is checked, as a failure until it succeeds (site_sign_in_ok(),
-- site_settings_email(), site_settings_password() forget it): its id, or
-- NULL when the throttle says no (site_throttled()).  The account and the
-- address are locked while their attempts are counted and one is added,
-- so that concurrent attempts never get more checks than the limits allow.
CREATE OR REPLACE FUNCTION site_sign_in_attempt(account text, address text,
                                                args jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    attempt  bigint;
BEGIN
    -- always the account first, then the address: no deadlock
    PERFORM pg_advisory_xact_lock(11, hashtext(account));
    PERFORM pg_advisory_xact_lock(12, hashtext(address));

    IF site_throttled(account, address, args) THEN
        RETURN NULL;
    END IF;

    DELETE FROM sign_in_failures WHERE at < now() - interval '1 day';

    INSERT INTO sign_in_failures (account, address)
    VALUES (account, address)
    RETURNING id INTO attempt;

    RETURN attempt;
END
$$;
