-- Signing up, once the password is hashed: the account and its first
-- session, or the problems of a username or email address taken
-- meanwhile.  args: username, email, password_hash and the session's
-- (site_new_session()).
CREATE OR REPLACE FUNCTION site_sign_up(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    errors  jsonb := site_account_errors(args ->> 'username',
                                         args ->> 'email');
    uid     bigint;
BEGIN
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
        RETURN jsonb_build_object(
            'errors', site_account_errors(args ->> 'username',
                                          args ->> 'email'));
    END;

    PERFORM site_new_session(uid, args);

    RETURN site_redirect('/manage/characters?welcome=1',
                         '{"signed_in": true}'::jsonb);
END
$$;
