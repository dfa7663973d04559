-- Signing up, once the password is hashed: the account and its first
-- session, or the problems of a username or email address taken
-- meanwhile; either way the sign-up lets go of what it took.  args:
-- username, email, password_hash, claim (site_sign_up_check()), site_name
-- and the session's (site_new_session()).
CREATE OR REPLACE FUNCTION site_sign_up(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    errors  jsonb;
    uid     bigint;
BEGIN
    UPDATE sign_ups SET username = NULL, email = NULL
    WHERE id = (args ->> 'claim')::bigint;

    errors := site_sign_up_errors(args);

    IF errors <> '{}' THEN
        RETURN jsonb_build_object('errors', errors);
    END IF;

    BEGIN
        INSERT INTO users (username, email, password_hash)
        VALUES (args ->> 'username', args ->> 'email',
                args ->> 'password_hash')
        RETURNING id INTO uid;
    EXCEPTION WHEN unique_violation THEN
        -- a concurrent sign-up took the name or the address
        RETURN jsonb_build_object('errors', site_sign_up_errors(args));
    END;

    PERFORM site_new_session(uid, args);

    RETURN site_redirect('/manage/characters?welcome=1',
                         '{"signed_in": true}'::jsonb);
END
$$;
