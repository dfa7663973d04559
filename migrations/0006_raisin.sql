-- 0006: Raisin, the moderators' tool: mutes, the audit log, and one
-- function per page or action, raisin_request(kind, session token, args),
-- called by the C side of the `raisin` location as site_request() is by
-- the site's.
--
-- Every action checks the session's role and CSRF token and the reason,
-- then writes its effect and its audit row in the same transaction (the
-- function's), so an effect never exists without its row.  The audit log
-- is append-only: a trigger refuses UPDATE, DELETE and TRUNCATE.

CREATE TABLE raisin_audit (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint,                 -- users.id; NULL: the command line
    actor      text NOT NULL,          -- the username at the time
    action     text NOT NULL,
    target     text NOT NULL,
    reason     text NOT NULL CHECK (reason <> ''),
    details    jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX raisin_audit_action_idx ON raisin_audit (action, id DESC);
CREATE INDEX raisin_audit_actor_idx ON raisin_audit (lower(actor), id DESC);
CREATE INDEX raisin_audit_target_idx ON raisin_audit (target, id DESC);

CREATE FUNCTION raisin_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'raisin_audit is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER raisin_audit_no_update BEFORE UPDATE OR DELETE
    ON raisin_audit FOR EACH ROW
    EXECUTE FUNCTION raisin_audit_append_only();

CREATE TRIGGER raisin_audit_no_truncate BEFORE TRUNCATE
    ON raisin_audit FOR EACH STATEMENT
    EXECUTE FUNCTION raisin_audit_append_only();

-- a sender muted until a time: new messages are stored hidden
CREATE TABLE raisin_mutes (
    id               bigserial PRIMARY KEY,
    player           text NOT NULL
                     CHECK (player <> '' AND length(player) <= 100),
    game             text NOT NULL
                     CHECK (game <> '' AND length(game) <= 100),
    until            timestamptz NOT NULL,
    lifted_at        timestamptz,
    reason           text NOT NULL,
    created_by       bigint,
    created_by_name  text NOT NULL,
    inserted_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX raisin_mutes_sender_idx
    ON raisin_mutes (lower(player), lower(game), until DESC)
    WHERE lifted_at IS NULL;

ALTER TABLE channel_messages
    ADD COLUMN mute_id bigint REFERENCES raisin_mutes;

CREATE INDEX channel_messages_mute_idx ON channel_messages (mute_id)
    WHERE mute_id IS NOT NULL;

-- whoever stores a message (the Backbone, a test), a muted sender's is
-- hidden from the public
CREATE FUNCTION raisin_mute_message() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT m.id INTO NEW.mute_id
    FROM raisin_mutes m
    WHERE lower(m.player) = lower(NEW.player_name)
      AND lower(m.game) = lower(NEW.game_name)
      AND m.lifted_at IS NULL AND m.until > clock_timestamp()
    ORDER BY m.until DESC
    LIMIT 1;

    IF NEW.mute_id IS NOT NULL THEN
        NEW.hidden := true;
    END IF;

    RETURN NEW;
END
$$;

CREATE TRIGGER channel_messages_mute BEFORE INSERT ON channel_messages
    FOR EACH ROW EXECUTE FUNCTION raisin_mute_message();


-- ------------------------------------------------ the site, amended

-- the session's user also says whether Raisin is theirs
CREATE OR REPLACE FUNCTION site_session(token text) RETURNS jsonb
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
                              'admin', s.role = 'admin',
                              'moderator', s.role IN ('moderator', 'admin'));
END
$$;

-- A suspended account's password is still checked, so that its owner
-- (and only someone who knows the password) learns why signing in fails:
-- its id is NULL, which site_request() passes on to C as "no user"
-- while the hash is the real one (src/grapevine/ngx_grapevine_account.c).
CREATE OR REPLACE FUNCTION site_sign_in_account(login text, OUT id bigint,
                                                OUT password_hash text,
                                                OUT account text)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN u.suspended_at IS NULL THEN u.id END, u.password_hash,
           coalesce('user:' || u.id, 'login:' || lower(login)) AS account
    FROM (SELECT 1) AS one
    LEFT JOIN users u
        ON lower(u.username) = lower(login) OR lower(u.email) = lower(login)
    ORDER BY lower(u.username) = lower(login) DESC
    LIMIT 1
$$;

-- a suspended player's characters leave the game pages too
CREATE OR REPLACE FUNCTION site_game(short text) RETURNS jsonb
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
            WHERE c.game_id = g.id AND c.state = 'approved'
              AND u.suspended_at IS NULL), '[]'));
END
$$;


-- --------------------------------------------------------------- helpers

CREATE FUNCTION raisin_iso(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- an id from a path or a parameter: digits that fit a bigint, or NULL
CREATE FUNCTION raisin_id(s text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN s ~ '^[0-9]{1,18}$' THEN s::bigint END
$$;

-- what an audit row's details say, in a line for the pages
CREATE FUNCTION raisin_summary(a raisin_audit) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN a.action IN ('message.hide', 'message.unhide') THEN
            (a.details ->> 'player') || '@' || (a.details ->> 'game')
            || ' on #' || (a.details ->> 'channel') || ': '
            || site_excerpt(a.details ->> 'message', 200)
        WHEN a.action IN ('sender.mute', 'mute.lift') THEN
            'until ' || to_char((a.details ->> 'until')::timestamptz
                                AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')
        WHEN a.action = 'user.role' THEN
            (a.details ->> 'from') || ' → ' || (a.details ->> 'to')
        WHEN a.action = 'user.suspend' THEN
            (a.details ->> 'sessions_ended') || ' session(s) ended'
        WHEN a.action = 'character.remove' THEN
            (a.details ->> 'state') || ', registered by '
            || (a.details ->> 'username')
    END
$$;

CREATE FUNCTION raisin_entry(a raisin_audit) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', a.id, 'at', raisin_iso(a.at),
                              'when', site_time(a.at), 'actor', a.actor,
                              'action', a.action, 'target', a.target,
                              'reason', a.reason, 'details', a.details,
                              'summary', raisin_summary(a))
$$;

-- the one way an audit row is written; returns it as an entry
CREATE FUNCTION raisin_audit_add(me jsonb, action text, target text,
                                 reason text, details jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    a  raisin_audit;
BEGIN
    INSERT INTO raisin_audit (actor_id, actor, action, target, reason,
                              details)
    VALUES ((me ->> 'id')::bigint, coalesce(me ->> 'username',
                                            'command line'),
            action, target, reason, coalesce(details, '{}'))
    RETURNING * INTO a;

    RETURN raisin_entry(a);
END
$$;

CREATE FUNCTION raisin_mute_entry(m raisin_mutes) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', m.id, 'sender', m.player || '@' || m.game,
        'player', m.player, 'game', m.game,
        'until', raisin_iso(m.until), 'until_text', site_time(m.until),
        'active', m.lifted_at IS NULL AND m.until > now(),
        'lifted', m.lifted_at IS NOT NULL,
        'lifted_at', raisin_iso(m.lifted_at),
        'reason', m.reason, 'by', m.created_by_name,
        'at', raisin_iso(m.inserted_at), 'when', site_time(m.inserted_at))
$$;

-- a 4xx answer with a message (and the field errors of a 422)
CREATE FUNCTION raisin_fail(status integer, message text,
                            field text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT site_status(status, jsonb_build_object('message', message))
           || CASE WHEN field IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('errors', jsonb_build_object(
                            field, jsonb_build_array(message))) END
$$;

-- the page an action goes back to: a Raisin path, or the default
CREATE FUNCTION raisin_back(back text, fallback text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN back ~ '^/raisin/[!-~]*$' AND back !~ '[\\"<>]'
                THEN back ELSE fallback END
$$;

-- "1m" to "365d": an interval, or NULL
CREATE FUNCTION raisin_duration(s text) RETURNS interval
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    m  text[];
    d  interval;
BEGIN
    m := regexp_match(raisin_trim(coalesce(s, '')), '^([0-9]{1,6})\s*([mhd])$');

    IF m IS NULL THEN
        RETURN NULL;
    END IF;

    d := make_interval(mins => m[1]::integer
                               * CASE m[2] WHEN 'm' THEN 1
                                           WHEN 'h' THEN 60
                                           ELSE 1440 END);

    IF d < interval '1 minute' OR d > interval '365 days' THEN
        RETURN NULL;
    END IF;

    RETURN d;
END
$$;

-- s without white space (spaces, tabs, new lines…) at either end
CREATE FUNCTION raisin_trim(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(s, '^[[:space:]]+|[[:space:]]+$', '', 'g')
$$;

-- the message for a query parameter longer than max characters, or NULL
CREATE FUNCTION raisin_too_long(args jsonb, key text, max integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(raisin_trim(args ->> key)) > max
                THEN key || ' has at most ' || max || ' characters.' END
$$;

-- a query parameter's text, bounded; NULL when absent or empty
CREATE FUNCTION raisin_param(args jsonb, key text, max integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN raisin_trim(args ->> key) = '' THEN NULL
                ELSE left(raisin_trim(args ->> key), max) END
$$;


-- ------------------------------------------------------------------ pages

CREATE FUNCTION raisin_index() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'title', 'Raisin',
        'nav_raisin', true,
        'raisin_home', true,
        'channels', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'name', c.name, 'description', c.description,
                       'hidden', c.hidden,
                       'path', '/raisin/channels/' || site_urlencode(c.name),
                       'messages', (SELECT count(*) FROM channel_messages m
                                    WHERE m.channel_id = c.id),
                       'hidden_messages', (SELECT count(*)
                                           FROM channel_messages m
                                           WHERE m.channel_id = c.id
                                             AND m.hidden))
                       ORDER BY lower(c.name))
            FROM channels c), '[]'),
        'mutes', coalesce((
            SELECT jsonb_agg(raisin_mute_entry(m) ORDER BY m.until)
            FROM raisin_mutes m
            WHERE m.lifted_at IS NULL AND m.until > now()), '[]'),
        'audit', coalesce((
            SELECT jsonb_agg(raisin_entry(a) ORDER BY a.id DESC)
            FROM (SELECT * FROM raisin_audit ORDER BY id DESC LIMIT 10) a),
            '[]'))
$$;

CREATE FUNCTION raisin_channel(args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c         channels;
    q         text := raisin_param(args, 'q', 200);
    game      text := raisin_param(args, 'game', 100);
    player    text := raisin_param(args, 'player', 100);
    before_id bigint;
    per_page  constant integer := 50;
    msgs      jsonb;
    oldest    bigint;
    n         integer;
    filters   text;
    err       text;
BEGIN
    err := coalesce(raisin_too_long(args, 'q', 200),
                    raisin_too_long(args, 'game', 100),
                    raisin_too_long(args, 'player', 100));

    IF err IS NOT NULL THEN
        RETURN raisin_fail(400, err);
    END IF;

    SELECT * INTO c FROM channels
    WHERE lower(channels.name) = lower(args ->> 'name');

    IF NOT FOUND THEN
        RETURN raisin_fail(404, 'There is no such channel.');
    END IF;

    IF args ->> 'before' IS NOT NULL AND args ->> 'before' <> '' THEN
        before_id := raisin_id(args ->> 'before');

        IF before_id IS NULL THEN
            RETURN raisin_fail(400, 'before must be a message id.');
        END IF;
    END IF;

    SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', m.id, 'at', raisin_iso(m.inserted_at),
                       'when', site_time(m.inserted_at),
                       'game', m.game_name, 'player', m.player_name,
                       'sender', m.player_name || '@' || m.game_name,
                       'text', m.message, 'hidden', m.hidden,
                       'muted', m.mute_id IS NOT NULL,
                       'account', m.account)
                       ORDER BY m.id DESC), '[]'),
           min(m.id), count(*)
    INTO msgs, oldest, n
    FROM (SELECT cm.*,
                 -- the account that registered the sender, if one did
                 (SELECT u.username
                  FROM characters ch
                  JOIN games g ON g.id = ch.game_id
                  JOIN users u ON u.id = ch.user_id
                  WHERE lower(ch.name) = lower(cm.player_name)
                    AND lower(g.short_name) = lower(cm.game_name)
                    AND ch.state = 'approved') AS account
          FROM channel_messages cm
          WHERE cm.channel_id = c.id
            AND (before_id IS NULL OR cm.id < before_id)
            AND (q IS NULL OR strpos(lower(cm.message), lower(q)) > 0)
            AND (game IS NULL OR lower(cm.game_name) = lower(game))
            AND (player IS NULL OR lower(cm.player_name) = lower(player))
          ORDER BY cm.id DESC LIMIT per_page) AS m;

    filters := CASE WHEN q IS NULL THEN ''
                    ELSE '&q=' || site_urlencode(q) END
               || CASE WHEN game IS NULL THEN ''
                       ELSE '&game=' || site_urlencode(game) END
               || CASE WHEN player IS NULL THEN ''
                       ELSE '&player=' || site_urlencode(player) END;

    RETURN jsonb_build_object(
        'title', '#' || c.name || ' · Raisin',
        'nav_raisin', true,
        'path', '/raisin/channels/' || site_urlencode(c.name),
        'channel', jsonb_build_object('name', c.name,
                                      'description', c.description,
                                      'hidden', c.hidden),
        'search', jsonb_build_object('q', q, 'game', game, 'player', player,
                                     'any', coalesce(q, game, player)
                                            IS NOT NULL),
        'messages', msgs,
        'older', CASE WHEN n = per_page AND EXISTS (
                          SELECT 1 FROM channel_messages cm
                          WHERE cm.channel_id = c.id AND cm.id < oldest
                            AND (q IS NULL
                                 OR strpos(lower(cm.message), lower(q)) > 0)
                            AND (game IS NULL
                                 OR lower(cm.game_name) = lower(game))
                            AND (player IS NULL
                                 OR lower(cm.player_name) = lower(player)))
                      THEN '/raisin/channels/' || site_urlencode(c.name)
                           || '?before=' || oldest || filters END,
        'back', '/raisin/channels/' || site_urlencode(c.name)
                || CASE WHEN before_id IS NOT NULL OR filters <> ''
                        THEN '?' || ltrim(coalesce('before=' || before_id,
                                                   '') || filters, '&')
                        ELSE '' END);
END
$$;

CREATE FUNCTION raisin_mutes_page() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'title', 'Mutes · Raisin',
        'nav_raisin', true,
        'raisin_mutes', true,
        'mutes', coalesce((
            SELECT jsonb_agg(raisin_mute_entry(m)
                             ORDER BY m.lifted_at IS NULL
                                      AND m.until > now() DESC, m.id DESC)
            FROM (SELECT * FROM raisin_mutes
                  ORDER BY lifted_at IS NULL AND until > now() DESC, id DESC
                  LIMIT 200) m), '[]'))
$$;

CREATE FUNCTION raisin_users(args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    q    text := raisin_param(args, 'q', 254);
    err  text := raisin_too_long(args, 'q', 254);
BEGIN
    IF err IS NOT NULL THEN
        RETURN raisin_fail(400, err);
    END IF;

    RETURN jsonb_build_object(
        'title', 'Accounts · Raisin',
        'nav_raisin', true,
        'raisin_users', true,
        'q', q,
        'users', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'username', u.username, 'email', u.email,
                       'role', u.role,
                       'suspended', u.suspended_at IS NOT NULL,
                       'since', site_time(u.inserted_at),
                       'characters', (SELECT count(*) FROM characters c
                                      WHERE c.user_id = u.id))
                       ORDER BY lower(u.username))
            FROM (SELECT * FROM users
                  WHERE q IS NULL
                     OR strpos(lower(username), lower(q)) > 0
                     OR strpos(lower(email), lower(q)) > 0
                  ORDER BY CASE WHEN q IS NULL THEN inserted_at END DESC,
                           lower(username)
                  LIMIT 100) u), '[]'));
END
$$;

CREATE FUNCTION raisin_user(name text, me jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    u  users;
BEGIN
    SELECT * INTO u FROM users WHERE lower(username) = lower(name);

    IF NOT FOUND THEN
        RETURN raisin_fail(404, 'There is no such account.');
    END IF;

    RETURN jsonb_build_object(
        'title', u.username || ' · Raisin',
        'nav_raisin', true,
        'raisin_users', true,
        'path', '/raisin/users/' || u.username,
        'user', jsonb_build_object(
            'username', u.username, 'email', u.email, 'role', u.role,
            'suspended', u.suspended_at IS NOT NULL,
            'suspended_at', raisin_iso(u.suspended_at),
            'since', site_time(u.inserted_at),
            'is_me', u.id = (me ->> 'id')::bigint,
            'roles', (SELECT jsonb_agg(jsonb_build_object(
                                 'role', r, 'current', r = u.role)
                             ORDER BY o)
                      FROM unnest(ARRAY['user', 'moderator', 'admin'])
                           WITH ORDINALITY AS x(r, o))),
        'can_suspend', u.id <> (me ->> 'id')::bigint
                       AND (u.role = 'user' OR me ->> 'role' = 'admin'),
        'can_change_role', u.id <> (me ->> 'id')::bigint
                           AND me ->> 'role' = 'admin',
        'characters', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', c.id, 'name', c.name, 'game', g.short_name,
                       'game_name', g.name, 'state', c.state,
                       'registered', site_time(c.inserted_at))
                       ORDER BY lower(g.name), lower(c.name))
            FROM characters c JOIN games g ON g.id = c.game_id
            WHERE c.user_id = u.id), '[]'),
        'audit', coalesce((
            SELECT jsonb_agg(raisin_entry(a) ORDER BY a.id DESC)
            FROM (SELECT * FROM raisin_audit
                  WHERE target = 'user ' || u.username
                     OR details ->> 'username' = u.username
                  ORDER BY id DESC LIMIT 50) a), '[]'));
END
$$;

CREATE FUNCTION raisin_audit_page(args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    before_id  bigint;
    f_action   text := raisin_param(args, 'action', 100);
    f_actor    text := raisin_param(args, 'actor', 100);
    err        text;
    per_page   constant integer := 50;
    entries    jsonb;
    oldest     bigint;
    n          integer;
BEGIN
    IF args ->> 'before' IS NOT NULL AND args ->> 'before' <> '' THEN
        before_id := raisin_id(args ->> 'before');

        IF before_id IS NULL THEN
            RETURN raisin_fail(400, 'before must be an audit row id.');
        END IF;
    END IF;

    err := coalesce(raisin_too_long(args, 'action', 100),
                    raisin_too_long(args, 'actor', 100));

    IF err IS NOT NULL THEN
        RETURN raisin_fail(400, err);
    END IF;

    SELECT coalesce(jsonb_agg(raisin_entry(a) ORDER BY a.id DESC), '[]'),
           min(a.id), count(*)
    INTO entries, oldest, n
    FROM (SELECT * FROM raisin_audit ra
          WHERE (before_id IS NULL OR ra.id < before_id)
            AND (f_action IS NULL
                 OR ra.action = f_action)
            AND (f_actor IS NULL
                 OR lower(ra.actor) = lower(f_actor))
          ORDER BY ra.id DESC LIMIT per_page) a;

    RETURN jsonb_build_object(
        'title', 'Audit log · Raisin',
        'nav_raisin', true,
        'raisin_audit', true,
        'filter', jsonb_build_object('action', f_action, 'actor', f_actor),
        'entries', entries,
        'older', CASE WHEN n = per_page AND EXISTS (
                          SELECT 1 FROM raisin_audit ra
                          WHERE ra.id < oldest
                            AND (f_action IS NULL
                                 OR ra.action = f_action)
                            AND (f_actor IS NULL
                                 OR lower(ra.actor)
                                    = lower(f_actor)))
                      THEN '/raisin/audit?before=' || oldest
                           || CASE WHEN f_action IS NULL THEN ''
                                   ELSE '&action='
                                        || site_urlencode(f_action) END
                           || CASE WHEN f_actor IS NULL THEN ''
                                   ELSE '&actor='
                                        || site_urlencode(f_actor) END END);
END
$$;


-- ---------------------------------------------------------------- actions

-- Each returns the redirect back with {"done": {"ok": true, "audit": …}},
-- or a failure that changed nothing.

CREATE FUNCTION raisin_hide(me jsonb, args jsonb, reason text, hide boolean)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    mid    bigint := raisin_id(args ->> 'id');
    m      channel_messages;
    entry  jsonb;
BEGIN
    UPDATE channel_messages SET hidden = hide
    WHERE id = mid AND hidden <> hide
    RETURNING * INTO m;

    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM channel_messages WHERE id = mid) THEN
            RETURN raisin_fail(409, CASE WHEN hide
                                         THEN 'This message is already hidden.'
                                         ELSE 'This message is not hidden.'
                                    END);
        END IF;

        RETURN raisin_fail(404, 'There is no such message.');
    END IF;

    entry := raisin_audit_add(
        me, CASE WHEN hide THEN 'message.hide' ELSE 'message.unhide' END,
        'message ' || m.id, reason,
        jsonb_build_object('channel', m.channel_name, 'game', m.game_name,
                           'player', m.player_name, 'message', m.message,
                           'muted', m.mute_id IS NOT NULL));

    RETURN site_redirect(raisin_back(args ->> 'back',
                                     '/raisin/channels/'
                                     || site_urlencode(m.channel_name)),
                         jsonb_build_object('done', jsonb_build_object(
                             'ok', true, 'audit', entry)));
END
$$;

CREATE FUNCTION raisin_mute(me jsonb, args jsonb, reason text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    parts  text[];
    d      interval;
    m      raisin_mutes;
    entry  jsonb;
BEGIN
    parts := regexp_match(raisin_trim(coalesce(args ->> 'sender', '')),
                          '^([^@[:cntrl:][:space:]]{1,100})'
                          '@([^@[:cntrl:][:space:]]{1,100})$');

    IF parts IS NULL THEN
        RETURN raisin_fail(422, 'A sender is written name@game.',
                           'sender');
    END IF;

    d := raisin_duration(args ->> 'duration');

    IF d IS NULL THEN
        RETURN raisin_fail(422, 'A duration is a number of minutes, hours '
                                'or days, such as 30m, 2h or 7d, from 1m '
                                'to 365d.', 'duration');
    END IF;

    INSERT INTO raisin_mutes (player, game, until, reason, created_by,
                              created_by_name)
    VALUES (parts[1], parts[2], now() + d, reason, (me ->> 'id')::bigint,
            me ->> 'username')
    RETURNING * INTO m;

    entry := raisin_audit_add(
        me, 'sender.mute', m.player || '@' || m.game, reason,
        jsonb_build_object('mute', m.id, 'player', m.player,
                           'game', m.game, 'until', raisin_iso(m.until),
                           'duration', raisin_trim(args ->> 'duration')));

    RETURN site_redirect(raisin_back(args ->> 'back', '/raisin/mutes'),
                         jsonb_build_object('done', jsonb_build_object(
                             'ok', true, 'audit', entry,
                             'mute', raisin_mute_entry(m))));
END
$$;

CREATE FUNCTION raisin_lift(me jsonb, args jsonb, reason text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    mid    bigint := raisin_id(args ->> 'id');
    m      raisin_mutes;
    entry  jsonb;
BEGIN
    UPDATE raisin_mutes SET lifted_at = now()
    WHERE id = mid AND lifted_at IS NULL AND until > now()
    RETURNING * INTO m;

    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM raisin_mutes WHERE id = mid) THEN
            RETURN raisin_fail(409, 'This mute is already over.');
        END IF;

        RETURN raisin_fail(404, 'There is no such mute.');
    END IF;

    entry := raisin_audit_add(
        me, 'mute.lift', 'mute ' || m.id, reason,
        jsonb_build_object('mute', m.id, 'player', m.player,
                           'game', m.game, 'until', raisin_iso(m.until)));

    RETURN site_redirect(raisin_back(args ->> 'back', '/raisin/mutes'),
                         jsonb_build_object('done', jsonb_build_object(
                             'ok', true, 'audit', entry)));
END
$$;

-- suspend, unsuspend, role: an account by name
CREATE FUNCTION raisin_account(me jsonb, args jsonb, reason text,
                               action text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    u        users;
    n        integer;
    details  jsonb;
    entry    jsonb;
BEGIN
    SELECT * INTO u FROM users
    WHERE lower(username) = lower(args ->> 'name')
    FOR UPDATE;

    IF NOT FOUND THEN
        RETURN raisin_fail(404, 'There is no such account.');
    END IF;

    IF action = 'user.role' THEN
        IF me ->> 'role' <> 'admin' THEN
            RETURN raisin_fail(403, 'Only admins change roles.');
        END IF;

        IF u.id = (me ->> 'id')::bigint THEN
            RETURN raisin_fail(409, 'Admins cannot change their own '
                                    'role.');
        END IF;

        IF coalesce(args ->> 'role', '') NOT IN ('user', 'moderator',
                                                 'admin')
        THEN
            RETURN raisin_fail(422, 'A role is user, moderator or admin.',
                               'role');
        END IF;

        IF u.role = args ->> 'role' THEN
            RETURN raisin_fail(409, u.username || ' is already '
                                    || CASE u.role WHEN 'user' THEN 'a '
                                       ELSE 'an ' END
                                    || u.role || '.');
        END IF;

        UPDATE users SET role = args ->> 'role', updated_at = now()
        WHERE id = u.id;

        details := jsonb_build_object('username', u.username,
                                      'from', u.role,
                                      'to', args ->> 'role');

    ELSE
        IF u.id = (me ->> 'id')::bigint THEN
            RETURN raisin_fail(409, 'You cannot suspend or restore your '
                                    'own account.');
        END IF;

        IF u.role <> 'user' AND me ->> 'role' <> 'admin' THEN
            RETURN raisin_fail(403, 'Only admins suspend or restore '
                                    'moderators and admins.');
        END IF;

        IF action = 'user.suspend' THEN
            IF u.suspended_at IS NOT NULL THEN
                RETURN raisin_fail(409, 'This account is already '
                                        'suspended.');
            END IF;

            UPDATE users SET suspended_at = now(), updated_at = now()
            WHERE id = u.id;

            DELETE FROM sessions WHERE user_id = u.id;
            GET DIAGNOSTICS n = ROW_COUNT;

            details := jsonb_build_object('username', u.username,
                                          'sessions_ended', n);

        ELSE
            IF u.suspended_at IS NULL THEN
                RETURN raisin_fail(409, 'This account is not suspended.');
            END IF;

            UPDATE users SET suspended_at = NULL, updated_at = now()
            WHERE id = u.id;

            details := jsonb_build_object(
                'username', u.username,
                'suspended_at', raisin_iso(u.suspended_at));
        END IF;
    END IF;

    entry := raisin_audit_add(me, action, 'user ' || u.username, reason,
                              details);

    RETURN site_redirect(raisin_back(args ->> 'back',
                                     '/raisin/users/' || u.username),
                         jsonb_build_object('done', jsonb_build_object(
                             'ok', true, 'audit', entry)));
END
$$;

CREATE FUNCTION raisin_remove_character(me jsonb, args jsonb, reason text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    cid    bigint := raisin_id(args ->> 'id');
    c      record;
    entry  jsonb;
BEGIN
    DELETE FROM characters ch
    USING games g, users u
    WHERE ch.id = cid AND g.id = ch.game_id AND u.id = ch.user_id
    RETURNING ch.id, ch.name, ch.state, g.short_name AS game, u.username
    INTO c;

    IF NOT FOUND THEN
        RETURN raisin_fail(404, 'There is no such character.');
    END IF;

    entry := raisin_audit_add(
        me, 'character.remove', 'character ' || c.name || '@' || c.game,
        reason, jsonb_build_object('character', c.id, 'name', c.name,
                                   'game', c.game, 'state', c.state,
                                   'username', c.username));

    RETURN site_redirect(raisin_back(args ->> 'back',
                                     '/raisin/users/' || c.username),
                         jsonb_build_object('done', jsonb_build_object(
                             'ok', true, 'audit', entry)));
END
$$;


-- ---------------------------------------------------------- dispatcher

-- One step of a Raisin request.  kind names the page or the action; args
-- holds the route's parameters ("name", "id"), the query's or the form's
-- fields, "_csrf" and "path" (the request's path, to come back after
-- signing in).  Signed out: 401 with the sign-in page as "location"; not a
-- moderator: 403.  Actions check the CSRF token and the reason first.
CREATE FUNCTION raisin_request(kind text, token text, args jsonb)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    me      jsonb := site_session(token);
    res     jsonb;
    reason  text;
BEGIN
    IF me IS NULL THEN
        RETURN site_status(401, jsonb_build_object(
            'message', 'Sign in to use Raisin.',
            'location', '/sign-in?next='
                        || site_urlencode(CASE
                               WHEN args ->> 'path' ~ '^/raisin/[A-Za-z0-9/_-]*$'
                               THEN args ->> 'path'
                               ELSE '/raisin/' END),
            'me', NULL))::text;
    END IF;

    IF me ->> 'role' NOT IN ('moderator', 'admin') THEN
        RETURN (raisin_fail(403, 'Raisin is for moderators.')
                || jsonb_build_object('me', me))::text;
    END IF;

    IF kind LIKE 'post:%' THEN
        IF NOT coalesce(sha256(convert_to(args ->> '_csrf', 'UTF8'))
                        = sha256(convert_to(me ->> 'csrf', 'UTF8')), false)
        THEN
            RETURN (raisin_fail(403, 'The form has expired or did not come '
                                     'from this site. Go back, reload the '
                                     'page and try again.')
                    || jsonb_build_object('me', me))::text;
        END IF;

        reason := raisin_trim(coalesce(args ->> 'reason', ''));

        IF reason = '' THEN
            res := raisin_fail(422, 'Give a reason.', 'reason');
        ELSIF length(reason) > 500 THEN
            res := raisin_fail(422, 'A reason has at most 500 characters.',
                               'reason');
        END IF;
    END IF;

    IF res IS NOT NULL THEN
        -- a failed check of the reason: no action runs

    ELSE
        CASE kind

        WHEN 'index' THEN
            res := raisin_index();

        WHEN 'channel' THEN
            res := raisin_channel(args);

        WHEN 'mutes' THEN
            res := raisin_mutes_page();

        WHEN 'users' THEN
            res := raisin_users(args);

        WHEN 'user' THEN
            res := raisin_user(args ->> 'name', me);

        WHEN 'audit' THEN
            res := raisin_audit_page(args);

        WHEN 'post:hide' THEN
            res := raisin_hide(me, args, reason, true);

        WHEN 'post:unhide' THEN
            res := raisin_hide(me, args, reason, false);

        WHEN 'post:mute' THEN
            res := raisin_mute(me, args, reason);

        WHEN 'post:lift' THEN
            res := raisin_lift(me, args, reason);

        WHEN 'post:suspend' THEN
            res := raisin_account(me, args, reason, 'user.suspend');

        WHEN 'post:unsuspend' THEN
            res := raisin_account(me, args, reason, 'user.unsuspend');

        WHEN 'post:role' THEN
            res := raisin_account(me, args, reason, 'user.role');

        WHEN 'post:remove_character' THEN
            res := raisin_remove_character(me, args, reason);

        ELSE
            res := raisin_fail(404, 'There is no such page.');
        END CASE;
    END IF;

    IF NOT res ? 'status' THEN
        res := res || '{"status": 200}';
    END IF;

    -- a failed action's page offers the way back to its form; the mutes
    -- page's own form comes again, filled in, with the problem beside
    -- the field
    IF kind LIKE 'post:%' AND res ->> 'status' <> '303' THEN
        res := res || jsonb_build_object(
            'back', raisin_back(args ->> 'back', '/raisin/'));

        IF kind = 'post:mute' AND res ->> 'status' = '422' THEN
            res := raisin_mutes_page() || res || jsonb_build_object(
                'form', jsonb_build_object(
                    'sender', left(args ->> 'sender', 201),
                    'duration', left(args ->> 'duration', 10),
                    'reason', left(args ->> 'reason', 500)));
        END IF;
    END IF;

    RETURN (res || jsonb_build_object('me', me))::text;
END
$$;

-- The first admin (util/make-admin): the command line's role change, with
-- its audit row.  Fails when the account does not exist.
CREATE FUNCTION raisin_make_admin(name text, reason text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    u  users;
BEGIN
    SELECT * INTO u FROM users WHERE lower(username) = lower(name)
    FOR UPDATE;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'there is no account named "%"', name
            USING ERRCODE = 'no_data_found';
    END IF;

    IF u.role = 'admin' THEN
        RETURN u.username || ' is already an admin';
    END IF;

    UPDATE users SET role = 'admin', updated_at = now() WHERE id = u.id;

    PERFORM raisin_audit_add(NULL, 'user.role', 'user ' || u.username,
                             coalesce(nullif(btrim(reason), ''),
                                      'made admin on the command line'),
                             jsonb_build_object('username', u.username,
                                                'from', u.role,
                                                'to', 'admin'));

    RETURN u.username || ' is now an admin';
END
$$;
