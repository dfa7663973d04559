-- 0004: the player site (grapevine_site): sessions, sign-in throttling, the
-- character registration tell, and one function per page or form step.
--
-- The C side routes a request, checks what only it can check (passwords,
-- hashed in a thread pool; the anonymous CSRF cookie) and calls
-- site_request(kind, session token, args) once per step; the answer is a
-- JSON document: the page's data for its template, plus "status" (and
-- "location" for a redirect).  Passwords never reach the database; session
-- tokens are stored as their SHA-256.

CREATE TABLE sessions (
    id            bigserial PRIMARY KEY,
    token_hash    bytea NOT NULL UNIQUE,       -- sha256 of the 32-byte token
    user_id       bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    csrf_token    text NOT NULL,
    address       text,
    user_agent    text,
    inserted_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);

CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- failed sign-ins, counted per account and per address over a period
CREATE TABLE sign_in_failures (
    id        bigserial PRIMARY KEY,
    account   text NOT NULL,        -- "user:<id>", or the lower-cased login
    address   text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sign_in_failures_account_idx ON sign_in_failures (account, at);
CREATE INDEX sign_in_failures_address_idx ON sign_in_failures (address, at);

CREATE INDEX characters_state_idx ON characters (game_id, state);


-- --------------------------------------------------------------- helpers

-- a 64-digit hex token's row, or NULL
CREATE FUNCTION site_token_hash(token text) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN token ~ '^[0-9a-f]{64}$'
                THEN sha256(decode(token, 'hex')) END
$$;

-- the signed-in user of a session token: {"id", "username", "csrf",
-- "role"}, or NULL
CREATE FUNCTION site_session(token text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    s   record;
BEGIN
    IF token IS NULL THEN
        RETURN NULL;
    END IF;

    SELECT se.id, se.csrf_token, se.last_seen_at, u.id AS user_id,
           u.username, u.role
    INTO s
    FROM sessions se JOIN users u ON u.id = se.user_id
    WHERE se.token_hash = site_token_hash(token)
      AND se.expires_at > now() AND u.suspended_at IS NULL;

    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    IF s.last_seen_at < now() - interval '10 minutes' THEN
        UPDATE sessions SET last_seen_at = now() WHERE id = s.id;
    END IF;

    RETURN jsonb_build_object('id', s.user_id, 'username', s.username,
                              'csrf', s.csrf_token, 'role', s.role,
                              'admin', s.role = 'admin');
END
$$;

-- Text for a URL's query string: everything but [A-Za-z0-9_.~-] as %XX.
CREATE FUNCTION site_urlencode(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(
               CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90
                         OR b BETWEEN 97 AND 122 OR b IN (45, 46, 95, 126)
                    THEN chr(b)
                    ELSE '%' || upper(lpad(to_hex(b), 2, '0')) END,
               '' ORDER BY i), '')
    FROM (SELECT i, get_byte(convert_to(s, 'UTF8'), i) AS b
          FROM generate_series(0, octet_length(convert_to(s, 'UTF8')) - 1)
               AS i) AS bytes
$$;

-- a URL that is safe in an href: http(s) only
CREATE FUNCTION site_safe_url(url text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN url ~* '^https?://[^\s"<>]+$' THEN url END
$$;

CREATE FUNCTION site_time(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')
$$;

CREATE FUNCTION site_date(d date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(d, 'FMDay, FMMonth FMDD, YYYY')
$$;

-- at most n characters, on a word boundary, with an ellipsis when cut
CREATE FUNCTION site_excerpt(s text, n integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN s IS NULL THEN NULL
                WHEN length(s) <= n THEN s
                ELSE regexp_replace(left(s, n), '\s+\S*$', '') || '…' END
$$;

CREATE FUNCTION site_status(status integer, extra jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('status', status) || extra
$$;

CREATE FUNCTION site_redirect(location text, extra jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('status', 303, 'location', location) || extra
$$;

-- Username and email rules; errors as {"field": ["message", ...]}.
CREATE FUNCTION site_account_errors(new_username text, new_email text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    errors  jsonb := '{}';
BEGIN
    IF new_username IS NOT NULL THEN
        IF new_username = '' THEN
            errors := errors || '{"username": ["Choose a username."]}';
        ELSIF length(new_username) < 3 OR length(new_username) > 50 THEN
            errors := errors || '{"username": ["A username has 3 to 50 '
                                'characters."]}';
        ELSIF new_username !~ '^[A-Za-z0-9-]+$' THEN
            errors := errors || '{"username": ["A username may only hold '
                                'letters, digits and dashes."]}';
        ELSIF EXISTS (SELECT 1 FROM users
                      WHERE lower(users.username) = lower(new_username)) THEN
            errors := errors || '{"username": ["This username is taken."]}';
        END IF;
    END IF;

    IF new_email IS NOT NULL THEN
        IF new_email = '' THEN
            errors := errors || '{"email": ["Enter your email address."]}';
        ELSIF length(new_email) > 254
              OR new_email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' THEN
            errors := errors || '{"email": ["This is not an email '
                                'address."]}';
        ELSIF EXISTS (SELECT 1 FROM users
                      WHERE lower(users.email) = lower(new_email)) THEN
            errors := errors || '{"email": ["This email address is already '
                                'in use."]}';
        END IF;
    END IF;

    RETURN errors;
END
$$;

-- A new session for a user; deletes the old one of the same browser.
CREATE FUNCTION site_new_session(uid bigint, args jsonb, old_token text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF old_token IS NOT NULL THEN
        DELETE FROM sessions WHERE token_hash = site_token_hash(old_token);
    END IF;

    DELETE FROM sessions WHERE expires_at < now();

    INSERT INTO sessions (token_hash, user_id, csrf_token, address,
                          user_agent, expires_at)
    VALUES (site_token_hash(args ->> 'new_token'), uid, args ->> 'new_csrf',
            args ->> 'address', left(args ->> 'user_agent', 500),
            now() + make_interval(secs => (args ->> 'session_ttl')::integer));
END
$$;


-- ------------------------------------------------------------------ pages

CREATE FUNCTION site_home() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'title', 'Home',
        'nav_home', true,
        'figures', jsonb_build_object(
            'games_online', (SELECT count(*) FROM games
                             WHERE online AND display),
            'players_online', (SELECT count(*) FROM players_online p
                               JOIN games g ON g.id = p.game_id
                               WHERE g.display AND g.display_players),
            'games', (SELECT count(*) FROM games WHERE display),
            'channels', (SELECT count(*) FROM channels WHERE NOT hidden),
            'users', (SELECT count(*) FROM users),
            'characters', (SELECT count(*) FROM characters
                           WHERE state = 'approved'),
            'messages_today', (SELECT count(*) FROM channel_messages
                               WHERE inserted_at > now() - interval '1 day'
                                 AND NOT hidden)),
        'online', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'name', g.name, 'short_name', g.short_name,
                       'description', site_excerpt(g.description, 160),
                       'players', CASE WHEN g.display_players THEN
                                  nullif((SELECT count(*) FROM players_online p
                                          WHERE p.game_id = g.id), 0) END)
                       ORDER BY (SELECT count(*) FROM players_online p
                                 WHERE p.game_id = g.id) DESC,
                                lower(g.name))
            FROM games g WHERE g.online AND g.display), '[]'))
$$;

CREATE FUNCTION site_games(args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    name_q    text := btrim(coalesce(args ->> 'name', ''));
    only_on   boolean := coalesce(args ->> 'online', '') IN ('yes', 'on',
                                                              'true', '1');
    page      integer := 1;
    per_page  constant integer := 25;
    total     integer;
    pages     integer;
    base      text;
    items     jsonb;
BEGIN
    IF coalesce(args ->> 'page', '') ~ '^[0-9]{1,6}$' THEN
        page := greatest((args ->> 'page')::integer, 1);
    END IF;

    name_q := left(name_q, 100);

    SELECT count(*) INTO total FROM games g
    WHERE g.display AND (NOT only_on OR g.online)
      AND (name_q = '' OR strpos(lower(g.name), lower(name_q)) > 0
           OR strpos(lower(g.short_name), lower(name_q)) > 0);

    pages := greatest(1, (total + per_page - 1) / per_page);

    SELECT coalesce(jsonb_agg(x.item ORDER BY x.n), '[]') INTO items
    FROM (SELECT row_number() OVER (ORDER BY g.online DESC, lower(g.name),
                                        g.id) AS n,
                 jsonb_build_object(
                     'name', g.name, 'short_name', g.short_name,
                     'online', g.online,
                     'description', site_excerpt(g.description, 200),
                     'homepage_url', site_safe_url(g.homepage_url),
                     'user_agent', g.user_agent,
                     'players', CASE WHEN g.online AND g.display_players THEN
                                nullif((SELECT count(*) FROM players_online p
                                        WHERE p.game_id = g.id), 0) END)
                     AS item
          FROM games g
          WHERE g.display AND (NOT only_on OR g.online)
            AND (name_q = '' OR strpos(lower(g.name), lower(name_q)) > 0
                 OR strpos(lower(g.short_name), lower(name_q)) > 0)
          ORDER BY g.online DESC, lower(g.name), g.id
          OFFSET (page - 1) * per_page LIMIT per_page) AS x;

    base := '/games?'
            || CASE WHEN name_q <> ''
                    THEN 'games%5Bname%5D=' || site_urlencode(name_q) || '&'
                    ELSE '' END
            || CASE WHEN only_on THEN 'games%5Bonline%5D=yes&' ELSE '' END;

    RETURN jsonb_build_object(
        'title', 'Games',
        'nav_games', true,
        'games', items,
        'filter', jsonb_build_object('name', name_q, 'online', only_on),
        'total', total, 'page', page, 'pages', pages,
        'paged', pages > 1,
        'prev', CASE WHEN page > 1 AND page <= pages
                     THEN base || 'page=' || (page - 1) END,
        'next', CASE WHEN page < pages THEN base || 'page=' || (page + 1) END);
END
$$;

CREATE FUNCTION site_game(short text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g  games;
BEGIN
    SELECT * INTO g FROM games
    WHERE lower(short_name) = lower(short) AND display;

    IF NOT FOUND THEN
        RETURN site_status(404);
    END IF;

    RETURN jsonb_build_object(
        'title', g.name,
        'nav_games', true,
        'game', jsonb_build_object(
            'name', g.name, 'short_name', g.short_name,
            'description', g.description,
            'homepage_url', site_safe_url(g.homepage_url),
            'user_agent', g.user_agent,
            'user_agent_url', site_safe_url(g.user_agent_url),
            'online', g.online,
            'last_seen', site_time(g.last_seen_at),
            'allow_character_registration', g.allow_character_registration,
            'display_players', g.display_players),
        'connections', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'type', c.type,
                       'web', c.type = 'web',
                       'secure', c.type = 'secure telnet',
                       'url', site_safe_url(c.url),
                       'host', c.host, 'port', c.port)
                       ORDER BY c.type = 'web' DESC, c.type, c.id)
            FROM game_connections c WHERE c.game_id = g.id), '[]'),
        'players', CASE WHEN g.display_players THEN coalesce((
            SELECT jsonb_agg(p.name ORDER BY lower(p.name))
            FROM players_online p WHERE p.game_id = g.id), '[]')
            ELSE '[]' END,
        'events', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'title', e.title, 'description', e.description,
                       'start_date', site_date(e.start_date),
                       'end_date', site_date(e.end_date),
                       'ongoing', e.start_date <= current_date)
                       ORDER BY e.start_date, e.id)
            FROM (SELECT * FROM events
                  WHERE game_id = g.id AND NOT is_deleted
                    AND coalesce(end_date, start_date, current_date)
                        >= current_date
                  ORDER BY start_date, id LIMIT 20) e), '[]'),
        'achievements', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'title', a.title, 'description', a.description,
                       'points', a.points,
                       'total_progress', a.total_progress)
                       ORDER BY a.points DESC, lower(a.title), a.id)
            FROM achievements a
            WHERE a.game_id = g.id AND NOT a.is_deleted AND a.display),
            '[]'),
        'characters', coalesce((
            SELECT jsonb_agg(jsonb_build_object('name', c.name,
                                                'username', u.username)
                             ORDER BY lower(c.name))
            FROM characters c JOIN users u ON u.id = c.user_id
            WHERE c.game_id = g.id AND c.state = 'approved'), '[]'));
END
$$;

CREATE FUNCTION site_user(name text, me jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    u  users;
BEGIN
    SELECT * INTO u FROM users
    WHERE lower(username) = lower(name) AND suspended_at IS NULL;

    IF NOT FOUND THEN
        RETURN site_status(404);
    END IF;

    RETURN jsonb_build_object(
        'title', u.username,
        'user', jsonb_build_object(
            'username', u.username,
            'since', to_char(u.inserted_at AT TIME ZONE 'UTC',
                             'FMMonth YYYY'),
            'is_me', (me ->> 'id')::bigint IS NOT DISTINCT FROM u.id),
        'characters', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'name', c.name, 'game_name', g.name,
                       'game_short_name', g.short_name,
                       'game_listed', g.display)
                       ORDER BY lower(g.name), lower(c.name))
            FROM characters c JOIN games g ON g.id = c.game_id
            WHERE c.user_id = u.id AND c.state = 'approved'), '[]'));
END
$$;

CREATE FUNCTION site_characters(me jsonb, hub_name text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    u      users;
    lists  jsonb;
BEGIN
    SELECT * INTO u FROM users WHERE id = (me ->> 'id')::bigint;

    SELECT jsonb_object_agg(s.state, coalesce((
               SELECT jsonb_agg(jsonb_build_object(
                          'id', c.id, 'name', c.name, 'game_name', g.name,
                          'game_short_name', g.short_name,
                          'game_listed', g.display,
                          'registered', site_time(c.inserted_at))
                          ORDER BY lower(g.name), lower(c.name))
               FROM characters c JOIN games g ON g.id = c.game_id
               WHERE c.user_id = u.id AND c.state = s.state), '[]'))
    INTO lists
    FROM unnest(ARRAY['pending', 'approved', 'denied']) AS s(state);

    RETURN jsonb_build_object(
        'title', 'Characters',
        'nav_characters', true,
        'registration_key', u.registration_key,
        'system_player', 'system@' || hub_name,
        'instruction', 'tell system@' || hub_name || ' register '
                       || u.registration_key,
        'pending', lists -> 'pending',
        'approved', lists -> 'approved',
        'denied', lists -> 'denied',
        'has_characters', EXISTS (SELECT 1 FROM characters
                                  WHERE user_id = u.id));
END
$$;

CREATE FUNCTION site_chat_index() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'title', 'Chat',
        'nav_chat', true,
        'channels', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'name', c.name, 'description', c.description,
                       'messages', (SELECT count(*) FROM channel_messages m
                                    WHERE m.channel_id = c.id
                                      AND NOT m.hidden),
                       'last', (SELECT site_time(max(m.inserted_at))
                                FROM channel_messages m
                                WHERE m.channel_id = c.id AND NOT m.hidden))
                       ORDER BY lower(c.name))
            FROM channels c WHERE NOT c.hidden), '[]'))
$$;

CREATE FUNCTION site_channel(name text, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c         channels;
    before_id bigint;
    per_page  constant integer := 100;
    msgs      jsonb;
    oldest    bigint;
    n         integer;
BEGIN
    SELECT * INTO c FROM channels
    WHERE lower(channels.name) = lower(site_channel.name) AND NOT hidden;

    IF NOT FOUND THEN
        RETURN site_status(404);
    END IF;

    IF coalesce(args ->> 'before', '') ~ '^[0-9]{1,18}$' THEN
        before_id := (args ->> 'before')::bigint;
    END IF;

    SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', m.id, 'at', site_time(m.inserted_at),
                       'game', m.game_name, 'name', m.player_name,
                       'text', m.message) ORDER BY m.id), '[]'),
           min(m.id), count(*)
    INTO msgs, oldest, n
    FROM (SELECT * FROM channel_messages
          WHERE channel_id = c.id AND NOT hidden
            AND (before_id IS NULL OR id < before_id)
          ORDER BY id DESC LIMIT per_page) AS m;

    RETURN jsonb_build_object(
        'title', '#' || c.name,
        'nav_chat', true,
        'channel', jsonb_build_object('name', c.name,
                                      'description', c.description),
        'messages', msgs,
        'older', CASE WHEN n = per_page AND EXISTS (
                          SELECT 1 FROM channel_messages
                          WHERE channel_id = c.id AND NOT hidden
                            AND id < oldest)
                      THEN '/chat/' || site_urlencode(c.name)
                           || '?before=' || oldest END,
        'newer', CASE WHEN before_id IS NOT NULL
                      THEN '/chat/' || site_urlencode(c.name) END);
END
$$;

CREATE FUNCTION site_settings(me jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'title', 'Settings',
        'nav_settings', true,
        'account', jsonb_build_object('username', u.username,
                                      'email', u.email,
                                      'since', site_time(u.inserted_at)))
    FROM users u WHERE u.id = (me ->> 'id')::bigint
$$;


-- -------------------------------------------------------------- sign-in

-- Failures of an account and of an address within the period, and whether
-- either reached its limit.  args: throttle_account, throttle_address,
-- throttle_period (seconds).
CREATE FUNCTION site_throttled(account text, address text, args jsonb)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM sign_in_failures f
            WHERE f.account = site_throttled.account
              AND f.at > now() - make_interval(
                      secs => (args ->> 'throttle_period')::integer))
           >= (args ->> 'throttle_account')::integer
        OR (SELECT count(*) FROM sign_in_failures f
            WHERE f.address = site_throttled.address
              AND f.at > now() - make_interval(
                      secs => (args ->> 'throttle_period')::integer))
           >= (args ->> 'throttle_address')::integer
$$;

CREATE FUNCTION site_sign_in_account(login text, OUT id bigint,
                                     OUT password_hash text,
                                     OUT account text)
LANGUAGE sql STABLE AS $$
    SELECT u.id, u.password_hash,
           coalesce('user:' || u.id, 'login:' || lower(login)) AS account
    FROM (SELECT 1) AS one
    LEFT JOIN users u ON u.suspended_at IS NULL
        AND (lower(u.username) = lower(login) OR lower(u.email) = lower(login))
    ORDER BY lower(u.username) = lower(login) DESC
    LIMIT 1
$$;


-- ---------------------------------------------------------- dispatcher

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
CREATE FUNCTION site_request(kind text, token text, args jsonb)
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


-- ------------------------------------------------ character registration

-- A tell to the system player (reference §4.2).  Registers a pending
-- character for the user whose registration key the message holds, and
-- replaces the key at once; queues the replies for the hub in hub_outbox
-- (the hub owner sends them) and returns their texts.
CREATE FUNCTION site_tell(from_game text, from_name text, message text,
                          hub_name text)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    msg      text := btrim(coalesce(message, ''));
    replies  text[];
    g        games;
    key      uuid;
    uid      bigint;
    cid      bigint;
BEGIN
    hub_name := coalesce(nullif(hub_name, ''), 'Grapevine');

    IF lower(msg) NOT LIKE 'register%' THEN
        replies := ARRAY['Hello! This is ' || hub_name || '. Please checkout '
                         'https://grapevine.haus/ for information on how to '
                         'register a character.'];
    ELSE
        SELECT * INTO g FROM games
        WHERE lower(short_name) = lower(from_game);

        IF NOT FOUND OR NOT g.online OR coalesce(from_name, '') = ''
           OR length(from_name) > 100
        THEN
            replies := ARRAY['An unknown error occurred. Please try again'];

        ELSIF NOT g.allow_character_registration THEN
            replies := ARRAY['Your game does not allow registering '
                             'characters on ' || hub_name || '. Sorry :('];

        ELSE
            -- the key follows the word "register" (in any case)
            BEGIN
                key := btrim(substr(msg, 9))::uuid;
            EXCEPTION WHEN invalid_text_representation THEN
                key := NULL;
            END;

            UPDATE users SET registration_key = gen_random_uuid(),
                             updated_at = now()
            WHERE registration_key = key AND suspended_at IS NULL
            RETURNING id INTO uid;

            IF uid IS NULL THEN
                replies := ARRAY['Unknown registration key.'];
            ELSE
                INSERT INTO characters (user_id, game_id, name)
                VALUES (uid, g.id, from_name)
                ON CONFLICT (game_id, lower(name)) DO NOTHING
                RETURNING id INTO cid;

                IF cid IS NULL THEN
                    replies := ARRAY['This character is already registered.',
                                     'Please check your ' || hub_name
                                     || ' profile.'];
                ELSE
                    replies := ARRAY['User registration initiated. Check '
                                     'your profile to complete '
                                     'registration!'];
                END IF;
            END IF;
        END IF;
    END IF;

    INSERT INTO hub_outbox (frame)
    SELECT jsonb_build_object(
               'event', 'tells/send',
               'ref', gen_random_uuid(),
               'payload', jsonb_build_object(
                   'from_name', 'system',
                   'to_game', from_game,
                   'to_name', from_name,
                   'sent_at', to_char(now() AT TIME ZONE 'UTC',
                                      'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   'message', r.text))
    FROM unnest(replies) WITH ORDINALITY AS r(text, n)
    ORDER BY r.n;

    RETURN QUERY SELECT unnest(replies);
END
$$;
