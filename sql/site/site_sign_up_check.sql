-- Signing up, before the password is hashed: the problems of the username
-- and the email address, as {"errors": {"field": ["code", ...]}}
-- (site_sign_up_errors()).  When there are none and the form had none
-- ("claim"), the sign-up is counted for its address (429 past
-- "sign_up_limit" within "sign_up_period" seconds), and takes the
-- username and the address until it is done ({"claim": id}), so that a
-- concurrent sign-up of either is refused before its password is hashed.
-- args: username, email, claim, site_name, address and those limits.
CREATE OR REPLACE FUNCTION site_sign_up_check(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    uname   text := lower(args ->> 'username');
    mail    text := lower(args ->> 'email');
    errors  jsonb;
    claim   bigint;
BEGIN
    -- a sign-up that never finished (its request went away) lets go
    UPDATE sign_ups s SET username = NULL, email = NULL
    WHERE (s.username = uname OR s.email = mail)
      AND s.at < now() - interval '2 minutes';

    errors := site_sign_up_errors(args);

    IF errors <> '{}' OR NOT coalesce((args ->> 'claim')::boolean, false)
    THEN
        RETURN jsonb_build_object('errors', errors);
    END IF;

    -- one sign-up of an address at a time is counted
    PERFORM pg_advisory_xact_lock(13, hashtext(args ->> 'address'));

    IF (SELECT count(*) FROM sign_ups s
        WHERE s.address = args ->> 'address'
          AND s.at > now() - make_interval(
                                 secs => (args ->> 'sign_up_period')::integer))
       >= (args ->> 'sign_up_limit')::integer
    THEN
        RETURN site_status(429);
    END IF;

    DELETE FROM sign_ups s WHERE s.at < now() - interval '1 day';

    -- a concurrent sign-up of the name or the address: the first wins
    INSERT INTO sign_ups (username, email, address)
    VALUES (uname, mail, args ->> 'address')
    ON CONFLICT DO NOTHING
    RETURNING id INTO claim;

    IF claim IS NULL THEN
        RETURN jsonb_build_object('errors', site_sign_up_errors(args));
    END IF;

    RETURN jsonb_build_object('errors', '{}'::jsonb, 'claim', claim);
END
$$;
