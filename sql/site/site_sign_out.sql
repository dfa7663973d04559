-- Signing out ends the browser's session.  args: token (its cookie).
CREATE OR REPLACE FUNCTION site_sign_out(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    IF args ->> 'token' IS NOT NULL THEN
        DELETE FROM sessions
        WHERE token_hash = site_token_hash(args ->> 'token');
    END IF;

    RETURN site_redirect('/', '{"signed_out": true}'::jsonb);
END
$$;
