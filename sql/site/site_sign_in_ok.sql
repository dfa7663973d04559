-- Signed in: the attempt and the account's failures from this address are
-- forgotten (not those from elsewhere: the backstop keeps counting them),
-- a new session opens, and the browser goes on to "next" (a path of the
-- site, which the router checked) or to its characters.  args: user_id,
-- attempt, next and the session's (site_new_session(): address, …).
CREATE OR REPLACE FUNCTION site_sign_in_ok(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    uid  bigint := (args ->> 'user_id')::bigint;
BEGIN
    DELETE FROM sign_in_failures
    WHERE id = (args ->> 'attempt')::bigint
       OR (account = 'user:' || uid AND address = args ->> 'address');

    PERFORM site_new_session(uid, args);

    RETURN site_redirect(coalesce(args ->> 'next', '/manage/characters'),
                         '{"signed_in": true}'::jsonb);
END
$$;
