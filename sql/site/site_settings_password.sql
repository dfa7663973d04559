-- A new password, once the current one is verified (its attempt is
-- forgotten): every other browser signs in again.  args: password_hash,
-- attempt, token (this browser's session).
CREATE OR REPLACE FUNCTION site_settings_password(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sign_in_failures WHERE id = (args ->> 'attempt')::bigint;

    UPDATE users SET password_hash = args ->> 'password_hash',
                     updated_at = now()
    WHERE id = (me ->> 'id')::bigint;

    DELETE FROM sessions
    WHERE user_id = (me ->> 'id')::bigint
      AND token_hash IS DISTINCT FROM site_token_hash(args ->> 'token');

    RETURN site_redirect('/manage/settings?saved=password');
END
$$;
