-- One step of a request.  kind names the page or the form step; token is
-- the session cookie (or NULL); args holds the route's parameters, the
-- form's fields (never a password), and what C adds: "_csrf" (the form's
-- token), "_anon_ok" (the form's token matches the anonymous CSRF cookie),
-- "hub_name", "address", "user_agent", "new_token", "new_csrf",
-- "session_ttl" and the throttle limits.
--
-- Steps that begin a POST check the CSRF token: a signed-in browser's form
-- must carry its session's token, an anonymous one the cookie's.  A
-- failure is {"status": 403} and changes nothing.
CREATE OR REPLACE FUNCTION site_request(kind text, token text, args jsonb)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    me       jsonb := site_session(token);
    res      jsonb;
    acct     record;
    errors   jsonb;
    uid      bigint;
    cid      bigint;
    n        integer;
    csrf_ok  boolean;
BEGIN
    IF kind LIKE 'post:%' AND kind NOT IN ('post:sign_up',
                                           'post:sign_in_ok',
                                           'post:sign_in_failed',
                                           'post:settings_email',
                                           'post:settings_password')
    THEN
        IF me IS NOT NULL THEN
            csrf_ok := coalesce(sha256(convert_to(args ->> '_csrf', 'UTF8'))
                                = sha256(convert_to(me ->> 'csrf', 'UTF8')),
                                false);
        ELSE
            csrf_ok := coalesce((args ->> '_anon_ok')::boolean, false);
        END IF;

        IF NOT csrf_ok THEN
            RETURN site_status(403, jsonb_build_object(
                'me', me, 'message', 'The form has expired or did not '
                'come from this site. Go back, reload the page and try '
                'again.'))::text;
        END IF;
    END IF;

    CASE kind

    -- pages

    WHEN 'home' THEN
        res := site_home();

    WHEN 'games' THEN
        res := site_games(args);

    WHEN 'game' THEN
        res := site_game(args ->> 'short_name');

    WHEN 'user' THEN
        res := site_user(args ->> 'name', me);

    WHEN 'chat' THEN
        res := site_chat_index();

    WHEN 'channel' THEN
        res := site_channel(args ->> 'channel', args);

    WHEN 'characters' THEN
        IF me IS NULL THEN
            res := site_redirect('/sign-in?next=%2Fmanage%2Fcharacters');
        ELSE
            res := site_characters(me, args ->> 'hub_name')
                   || jsonb_build_object('welcome',
                                         args ->> 'welcome' IS NOT NULL);
        END IF;

    WHEN 'settings' THEN
        IF me IS NULL THEN
            res := site_redirect('/sign-in?next=%2Fmanage%2Fsettings');
        ELSE
            res := site_settings(me)
                   || jsonb_build_object(
                          'saved_email', args ->> 'saved' = 'email',
                          'saved_password', args ->> 'saved' = 'password');
        END IF;

    WHEN 'register' THEN
        res := jsonb_build_object('title', 'Sign up', 'nav_register', true,
                                  'form', '{}'::jsonb);

    WHEN 'sign_in' THEN
        res := jsonb_build_object(
            'title', 'Sign in', 'nav_sign_in', true,
            'form', jsonb_build_object(
                'next', CASE WHEN args ->> 'next' ~ '^/[A-Za-z0-9/_-]*$'
                             THEN args ->> 'next' END));

    -- sign up: check, (C hashes the password), create

    WHEN 'post:sign_up_check' THEN
        res := jsonb_build_object(
            'errors', site_account_errors(args ->> 'username',
                                          args ->> 'email'));

    WHEN 'post:sign_up' THEN
        errors := site_account_errors(args ->> 'username', args ->> 'email');

        IF errors <> '{}' THEN
            RETURN jsonb_build_object('errors', errors)::text;
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
                                              args ->> 'email'))::text;
        END;

        PERFORM site_new_session(uid, args, token);
        res := site_redirect('/manage/characters?welcome=1',
                             '{"signed_in": true}'::jsonb);

    -- sign in: look up and check the throttle, (C verifies the password),
    -- then either a session or a recorded failure

    WHEN 'post:sign_in_begin' THEN
        SELECT * INTO acct FROM site_sign_in_account(args ->> 'login');

        IF site_throttled(acct.account, args ->> 'address', args) THEN
            res := site_status(429);
        ELSE
            res := jsonb_build_object('user_id', acct.id,
                                      'password_hash', acct.password_hash,
                                      'account', acct.account);
        END IF;

    WHEN 'post:sign_in_ok' THEN
        uid := (args ->> 'user_id')::bigint;

        DELETE FROM sign_in_failures WHERE account = 'user:' || uid;
        PERFORM site_new_session(uid, args, token);

        res := site_redirect(CASE WHEN args ->> 'next' ~ '^/[A-Za-z0-9/_-]*$'
                                  THEN args ->> 'next'
                                  ELSE '/manage/characters' END,
                             '{"signed_in": true}'::jsonb);

    WHEN 'post:sign_in_failed' THEN
        DELETE FROM sign_in_failures WHERE at < now() - interval '1 day';
        INSERT INTO sign_in_failures (account, address)
        VALUES (args ->> 'account', args ->> 'address');
        res := '{}';

    WHEN 'post:sign_out' THEN
        IF token IS NOT NULL THEN
            DELETE FROM sessions WHERE token_hash = site_token_hash(token);
        END IF;

        res := site_redirect('/', '{"signed_out": true}'::jsonb);

    -- settings: the user's hash, (C verifies and hashes), then the change

    WHEN 'post:settings_begin' THEN
        IF me IS NULL THEN
            RETURN site_redirect('/sign-in')::text;
        END IF;

        SELECT * INTO acct FROM site_sign_in_account(me ->> 'username');

        IF site_throttled(acct.account, args ->> 'address', args) THEN
            res := site_status(429);
        ELSE
            res := site_settings(me)
                   || jsonb_build_object(
                          'password_hash',
                          (SELECT password_hash FROM users
                           WHERE id = (me ->> 'id')::bigint),
                          'account', acct.account);

            IF args ? 'email' THEN
                res := res || jsonb_build_object(
                    'errors', site_account_errors(NULL, args ->> 'email'));
            END IF;
        END IF;

    WHEN 'post:settings_email' THEN
        IF me IS NULL THEN
            RETURN site_redirect('/sign-in')::text;
        END IF;

        errors := site_account_errors(NULL, args ->> 'email');

        IF errors <> '{}' THEN
            RETURN (site_settings(me)
                    || jsonb_build_object('errors', errors))::text;
        END IF;

        BEGIN
            UPDATE users SET email = args ->> 'email', updated_at = now()
            WHERE id = (me ->> 'id')::bigint;
        EXCEPTION WHEN unique_violation THEN
            RETURN (site_settings(me) || jsonb_build_object(
                'errors', site_account_errors(NULL,
                                              args ->> 'email')))::text;
        END;

        res := site_redirect('/manage/settings?saved=email');

    WHEN 'post:settings_password' THEN
        IF me IS NULL THEN
            RETURN site_redirect('/sign-in')::text;
        END IF;

        UPDATE users SET password_hash = args ->> 'password_hash',
                         updated_at = now()
        WHERE id = (me ->> 'id')::bigint;

        -- every other browser signs in again
        DELETE FROM sessions
        WHERE user_id = (me ->> 'id')::bigint
          AND token_hash <> site_token_hash(token);

        res := site_redirect('/manage/settings?saved=password');

    -- a character of the signed-in user: approve, deny or remove

    WHEN 'post:character' THEN
        IF me IS NULL THEN
            RETURN site_redirect('/sign-in')::text;
        END IF;

        cid := CASE WHEN args ->> 'id' ~ '^[0-9]{1,18}$'
                    THEN (args ->> 'id')::bigint END;

        IF args ->> 'action' = 'remove' THEN
            DELETE FROM characters
            WHERE id = cid AND user_id = (me ->> 'id')::bigint;
        ELSE
            UPDATE characters
            SET state = CASE args ->> 'action' WHEN 'approve' THEN 'approved'
                                               ELSE 'denied' END,
                updated_at = now()
            WHERE id = cid AND user_id = (me ->> 'id')::bigint
              AND state = 'pending';
        END IF;

        GET DIAGNOSTICS n = ROW_COUNT;

        IF n = 0 THEN
            IF EXISTS (SELECT 1 FROM characters
                       WHERE id = cid AND user_id = (me ->> 'id')::bigint)
            THEN
                res := site_status(409, jsonb_build_object(
                    'message', 'This character is no longer pending.'));
            ELSE
                res := site_status(404);
            END IF;
        ELSE
            res := site_redirect('/manage/characters');
        END IF;

    ELSE
        res := site_status(404);
    END CASE;

    IF NOT res ? 'status' THEN
        res := res || '{"status": 200}';
    END IF;

    RETURN (res || jsonb_build_object('me', me))::text;
END
$$;
