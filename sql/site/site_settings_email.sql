-- A new email address, once the password is verified (its attempt is
-- forgotten).  args: email, attempt.
CREATE OR REPLACE FUNCTION site_settings_email(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    errors  jsonb := site_account_errors(NULL, args ->> 'email');
BEGIN
    DELETE FROM sign_in_failures WHERE id = (args ->> 'attempt')::bigint;

    IF errors <> '{}' THEN
        RETURN site_settings(me, '{}') || jsonb_build_object('errors', errors);
    END IF;

    BEGIN
        UPDATE users SET email = args ->> 'email', updated_at = now()
        WHERE id = (me ->> 'id')::bigint;
    EXCEPTION WHEN unique_violation THEN
        RETURN site_settings(me, '{}') || jsonb_build_object(
            'errors', site_account_errors(NULL, args ->> 'email'));
    END;

    RETURN site_redirect('/manage/settings?saved=email');
END
$$;
