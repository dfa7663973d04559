-- 0002: the Backbone: local copies of the Gossip network's records, who is
-- online, channel history, the outbox of frames for the hub, and the
-- ingest function the hub owner calls once per received event.
--
-- Remote records are upserted by their remote id.  Versioned records keep
-- the logged_at of the version that wrote them, and an older version never
-- overwrites a newer one, so a replayed event changes nothing.

CREATE TABLE channels (
    id                bigserial PRIMARY KEY,
    remote_id         bigint NOT NULL UNIQUE,
    name              text NOT NULL,
    description       text,
    hidden            boolean NOT NULL DEFAULT false,
    remote_logged_at  timestamptz,
    inserted_at       timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX channels_name_key ON channels (lower(name));

CREATE TABLE games (
    id                            bigserial PRIMARY KEY,
    remote_id                     bigint NOT NULL UNIQUE,
    short_name                    text NOT NULL,
    name                          text NOT NULL,
    display                       boolean NOT NULL DEFAULT true,
    description                   text,
    homepage_url                  text,
    user_agent                    text,
    user_agent_url                text,
    allow_character_registration  boolean NOT NULL DEFAULT true,
    redirect_uris                 text[] NOT NULL DEFAULT '{}',
    mssp_last_seen_at             timestamptz,
    online                        boolean NOT NULL DEFAULT false,
    last_seen_at                  timestamptz,
    remote_logged_at              timestamptz,
    inserted_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX games_short_name_key ON games (lower(short_name));
CREATE INDEX games_online_idx ON games (online) WHERE display;

-- a game's connections, diffed by the remote connection key
CREATE TABLE game_connections (
    id          bigserial PRIMARY KEY,
    game_id     bigint NOT NULL REFERENCES games ON DELETE CASCADE,
    remote_key  text NOT NULL,
    type        text NOT NULL,
    url         text,
    host        text,
    port        integer,
    UNIQUE (game_id, remote_key)
);

CREATE TABLE events (
    id                bigserial PRIMARY KEY,
    remote_id         bigint NOT NULL UNIQUE,
    game_id           bigint NOT NULL REFERENCES games ON DELETE CASCADE,
    title             text NOT NULL,
    description       text,
    start_date        date,
    end_date          date,
    is_deleted        boolean NOT NULL DEFAULT false,
    remote_logged_at  timestamptz,
    inserted_at       timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX events_game_idx ON events (game_id, start_date)
    WHERE NOT is_deleted;

CREATE TABLE achievements (
    id                bigserial PRIMARY KEY,
    remote_id         bigint NOT NULL UNIQUE,
    game_id           bigint NOT NULL REFERENCES games ON DELETE CASCADE,
    key               text,
    title             text NOT NULL,
    description       text,
    display           boolean NOT NULL DEFAULT true,
    points            integer NOT NULL DEFAULT 0,
    partial_progress  boolean NOT NULL DEFAULT false,
    total_progress    integer,
    is_deleted        boolean NOT NULL DEFAULT false,
    remote_logged_at  timestamptz,
    inserted_at       timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX achievements_game_idx ON achievements (game_id)
    WHERE NOT is_deleted;

-- who is online, as the games report it
CREATE TABLE players_online (
    game_id       bigint NOT NULL REFERENCES games ON DELETE CASCADE,
    name          text NOT NULL,
    signed_in_at  timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX players_online_key ON players_online (game_id, lower(name));

-- every channels/broadcast the hub relayed
CREATE TABLE channel_messages (
    id            bigserial PRIMARY KEY,
    channel_id    bigint REFERENCES channels ON DELETE SET NULL,
    channel_name  text NOT NULL,
    game_name     text NOT NULL,
    player_name   text NOT NULL,
    message       text NOT NULL,
    hub_ref       text UNIQUE,
    hidden        boolean NOT NULL DEFAULT false,
    inserted_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX channel_messages_channel_idx
    ON channel_messages (channel_id, id DESC);

-- frames for the hub: any process inserts, the hub owner sends in order
CREATE TABLE hub_outbox (
    id          bigserial PRIMARY KEY,
    frame       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);

CREATE INDEX hub_outbox_pending_idx ON hub_outbox (id) WHERE sent_at IS NULL;

CREATE FUNCTION hub_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('grapevine_outbox', NEW.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER hub_outbox_notify AFTER INSERT ON hub_outbox
    FOR EACH ROW EXECUTE FUNCTION hub_outbox_notify();

-- what the hub owner reports (grapevine_status reads it from any worker)
CREATE TABLE hub_status (
    id             integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    state          text NOT NULL,
    owner_pid      integer,
    instance       text,
    last_frame_at  timestamptz,
    synced         jsonb NOT NULL DEFAULT '{}',
    reconnects     integer NOT NULL DEFAULT 0,
    last_error     text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);


-- ---------------------------------------------------------------- ingest

-- a required field, or an exception naming it
CREATE FUNCTION backbone_need(rec jsonb, field text, kind text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v jsonb := rec -> field;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RAISE EXCEPTION '"%" missing', field;
    END IF;
    IF jsonb_typeof(v) <> kind THEN
        RAISE EXCEPTION '"%" is not a %', field, kind;
    END IF;
    RETURN v;
END
$$;

-- an optional field of a given JSON type: NULL when absent or null
CREATE FUNCTION backbone_opt(rec jsonb, field text, kind text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v jsonb := rec -> field;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> kind THEN
        RAISE EXCEPTION '"%" is not a %', field, kind;
    END IF;
    RETURN v;
END
$$;

CREATE FUNCTION backbone_int(v jsonb, field text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF (v #>> '{}') !~ '^-?[0-9]{1,18}$' THEN
        RAISE EXCEPTION '"%" is not an integer', field;
    END IF;
    RETURN (v #>> '{}')::bigint;
END
$$;

CREATE FUNCTION backbone_channel(rec jsonb, logged timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO channels AS c (remote_id, name, description, hidden,
                               remote_logged_at)
    VALUES (backbone_int(backbone_need(rec, 'id', 'number'), 'id'),
            backbone_need(rec, 'name', 'string') #>> '{}',
            backbone_opt(rec, 'description', 'string') #>> '{}',
            coalesce((backbone_opt(rec, 'hidden', 'boolean'))::boolean,
                     false),
            logged)
    ON CONFLICT (remote_id) DO UPDATE
        SET name = excluded.name, description = excluded.description,
            hidden = excluded.hidden,
            remote_logged_at = excluded.remote_logged_at,
            updated_at = now()
        WHERE (c.remote_logged_at IS NULL OR excluded.remote_logged_at IS NULL
               OR c.remote_logged_at <= excluded.remote_logged_at)
          AND (c.name, c.description, c.hidden, c.remote_logged_at)
              IS DISTINCT FROM (excluded.name, excluded.description,
                                excluded.hidden, excluded.remote_logged_at);
END
$$;

CREATE FUNCTION backbone_game(rec jsonb, logged timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    gid    bigint;
    conns  jsonb := coalesce(backbone_opt(rec, 'connections', 'array'),
                             '[]');
    uris   jsonb := coalesce(backbone_opt(rec, 'redirect_uris', 'array'),
                             '[]');
    conn   jsonb;
    keys   text[] := '{}';
BEGIN
    INSERT INTO games AS g (remote_id, short_name, name, display,
                            description, homepage_url, user_agent,
                            user_agent_url, allow_character_registration,
                            redirect_uris, mssp_last_seen_at,
                            remote_logged_at)
    VALUES (backbone_int(backbone_need(rec, 'id', 'number'), 'id'),
            backbone_need(rec, 'game', 'string') #>> '{}',
            backbone_need(rec, 'display_name', 'string') #>> '{}',
            coalesce((backbone_opt(rec, 'display', 'boolean'))::boolean,
                     true),
            backbone_opt(rec, 'description', 'string') #>> '{}',
            backbone_opt(rec, 'homepage_url', 'string') #>> '{}',
            backbone_opt(rec, 'user_agent', 'string') #>> '{}',
            backbone_opt(rec, 'user_agent_url', 'string') #>> '{}',
            coalesce((backbone_opt(rec, 'allow_character_registration',
                                   'boolean'))::boolean, true),
            ARRAY(SELECT jsonb_array_elements_text(uris)),
            (backbone_opt(rec, 'mssp_last_seen_at', 'string')
                #>> '{}')::timestamptz,
            logged)
    ON CONFLICT (remote_id) DO UPDATE
        SET short_name = excluded.short_name, name = excluded.name,
            display = excluded.display, description = excluded.description,
            homepage_url = excluded.homepage_url,
            user_agent = excluded.user_agent,
            user_agent_url = excluded.user_agent_url,
            allow_character_registration =
                excluded.allow_character_registration,
            redirect_uris = excluded.redirect_uris,
            mssp_last_seen_at = excluded.mssp_last_seen_at,
            remote_logged_at = excluded.remote_logged_at,
            updated_at = now()
        WHERE (g.remote_logged_at IS NULL OR excluded.remote_logged_at IS NULL
               OR g.remote_logged_at <= excluded.remote_logged_at)
          AND (g.short_name, g.name, g.display, g.description,
               g.homepage_url, g.user_agent, g.user_agent_url,
               g.allow_character_registration, g.redirect_uris,
               g.mssp_last_seen_at, g.remote_logged_at)
              IS DISTINCT FROM
              (excluded.short_name, excluded.name, excluded.display,
               excluded.description, excluded.homepage_url,
               excluded.user_agent, excluded.user_agent_url,
               excluded.allow_character_registration, excluded.redirect_uris,
               excluded.mssp_last_seen_at, excluded.remote_logged_at)
    RETURNING id INTO gid;

    IF gid IS NULL THEN
        -- unchanged, or an older version; the connections may still differ
        SELECT id INTO gid FROM games g
        WHERE g.remote_id = (rec ->> 'id')::bigint
          AND (g.remote_logged_at IS NULL OR logged IS NULL
               OR g.remote_logged_at <= logged);

        IF gid IS NULL THEN
            RETURN;     -- an older version: nothing to do
        END IF;
    END IF;

    -- connections, diffed by their remote key
    FOR conn IN SELECT * FROM jsonb_array_elements(conns) LOOP
        IF jsonb_typeof(conn) <> 'object' THEN
            RAISE EXCEPTION 'a connection is not an object';
        END IF;

        keys := keys || coalesce(backbone_opt(conn, 'id', 'string') #>> '{}',
                                 (backbone_need(conn, 'type', 'string')
                                  #>> '{}'));

        INSERT INTO game_connections AS gc (game_id, remote_key, type, url,
                                            host, port)
        VALUES (gid, keys[array_upper(keys, 1)],
                backbone_need(conn, 'type', 'string') #>> '{}',
                backbone_opt(conn, 'url', 'string') #>> '{}',
                backbone_opt(conn, 'host', 'string') #>> '{}',
                backbone_int(backbone_opt(conn, 'port', 'number'), 'port'))
        ON CONFLICT (game_id, remote_key) DO UPDATE
            SET type = excluded.type, url = excluded.url,
                host = excluded.host, port = excluded.port
            WHERE (gc.type, gc.url, gc.host, gc.port)
                  IS DISTINCT FROM (excluded.type, excluded.url,
                                    excluded.host, excluded.port);
    END LOOP;

    DELETE FROM game_connections
    WHERE game_id = gid AND remote_key <> ALL (keys);
END
$$;

CREATE FUNCTION backbone_game_id(remote bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    gid bigint;
BEGIN
    SELECT id INTO gid FROM games WHERE remote_id = remote;
    IF gid IS NULL THEN
        RAISE EXCEPTION 'game % is unknown', remote;
    END IF;
    RETURN gid;
END
$$;

CREATE FUNCTION backbone_event(rec jsonb, action text, logged timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    rid bigint := backbone_int(backbone_need(rec, 'id', 'number'), 'id');
BEGIN
    IF action = 'delete' THEN
        UPDATE events SET is_deleted = true, remote_logged_at = logged,
                          updated_at = now()
        WHERE remote_id = rid AND NOT is_deleted
          AND (remote_logged_at IS NULL OR logged IS NULL
               OR remote_logged_at <= logged);
        RETURN;
    END IF;

    INSERT INTO events AS e (remote_id, game_id, title, description,
                             start_date, end_date, remote_logged_at)
    VALUES (rid,
            backbone_game_id(backbone_int(backbone_need(rec, 'game_id',
                                                        'number'),
                                          'game_id')),
            backbone_need(rec, 'title', 'string') #>> '{}',
            backbone_opt(rec, 'description', 'string') #>> '{}',
            left(backbone_opt(rec, 'start_date', 'string') #>> '{}', 10)::date,
            left(backbone_opt(rec, 'end_date', 'string') #>> '{}', 10)::date,
            logged)
    ON CONFLICT (remote_id) DO UPDATE
        SET game_id = excluded.game_id, title = excluded.title,
            description = excluded.description,
            start_date = excluded.start_date, end_date = excluded.end_date,
            is_deleted = false, remote_logged_at = excluded.remote_logged_at,
            updated_at = now()
        WHERE (e.remote_logged_at IS NULL OR excluded.remote_logged_at IS NULL
               OR e.remote_logged_at <= excluded.remote_logged_at)
          AND (e.game_id, e.title, e.description, e.start_date, e.end_date,
               e.is_deleted, e.remote_logged_at)
              IS DISTINCT FROM
              (excluded.game_id, excluded.title, excluded.description,
               excluded.start_date, excluded.end_date, false,
               excluded.remote_logged_at);
END
$$;

CREATE FUNCTION backbone_achievement(rec jsonb, action text,
                                     logged timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    rid bigint := backbone_int(backbone_need(rec, 'id', 'number'), 'id');
BEGIN
    IF action = 'delete' THEN
        UPDATE achievements SET is_deleted = true, remote_logged_at = logged,
                                updated_at = now()
        WHERE remote_id = rid AND NOT is_deleted
          AND (remote_logged_at IS NULL OR logged IS NULL
               OR remote_logged_at <= logged);
        RETURN;
    END IF;

    INSERT INTO achievements AS a (remote_id, game_id, key, title,
                                   description, display, points,
                                   partial_progress, total_progress,
                                   remote_logged_at)
    VALUES (rid,
            backbone_game_id(backbone_int(backbone_need(rec, 'game_id',
                                                        'number'),
                                          'game_id')),
            backbone_opt(rec, 'key', 'string') #>> '{}',
            backbone_need(rec, 'title', 'string') #>> '{}',
            backbone_opt(rec, 'description', 'string') #>> '{}',
            coalesce((backbone_opt(rec, 'display', 'boolean'))::boolean,
                     true),
            coalesce(backbone_int(backbone_opt(rec, 'points', 'number'),
                                  'points'), 0),
            coalesce((backbone_opt(rec, 'partial_progress',
                                   'boolean'))::boolean, false),
            backbone_int(backbone_opt(rec, 'total_progress', 'number'),
                         'total_progress'),
            logged)
    ON CONFLICT (remote_id) DO UPDATE
        SET game_id = excluded.game_id, key = excluded.key,
            title = excluded.title, description = excluded.description,
            display = excluded.display, points = excluded.points,
            partial_progress = excluded.partial_progress,
            total_progress = excluded.total_progress, is_deleted = false,
            remote_logged_at = excluded.remote_logged_at, updated_at = now()
        WHERE (a.remote_logged_at IS NULL OR excluded.remote_logged_at IS NULL
               OR a.remote_logged_at <= excluded.remote_logged_at)
          AND (a.game_id, a.key, a.title, a.description, a.display, a.points,
               a.partial_progress, a.total_progress, a.is_deleted,
               a.remote_logged_at)
              IS DISTINCT FROM
              (excluded.game_id, excluded.key, excluded.title,
               excluded.description, excluded.display, excluded.points,
               excluded.partial_progress, excluded.total_progress, false,
               excluded.remote_logged_at);
END
$$;

CREATE FUNCTION backbone_game_by_name(short text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT id FROM games WHERE lower(short_name) = lower(short)
$$;

-- One sync event, both shapes: v1 pushes {"games": [record, ...]} (and
-- channels, events, achievements); v2 sends [{action, logged_at, payload}].
-- Games and channels first try a set-based path (all records checked up
-- front, one INSERT ... SELECT for the event); anything unusual falls back
-- to the per-record loop, which skips and names each bad record.  Measured
-- by make bench (bench/README.md): about half the database time.

-- The records of one sync event of KIND, both shapes, in order: NULL when
-- the event holds anything the fast path leaves to the per-record loop
-- (then nothing was written).  Raises on a bad logged_at (the caller
-- treats that as "not taken").
CREATE FUNCTION backbone_sync_records(kind text, payload jsonb,
                                                 OUT recs jsonb[],
                                                 OUT logged timestamptz[])
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF jsonb_typeof(payload) = 'object'
       AND jsonb_typeof(payload -> kind) = 'array'
    THEN
        recs := ARRAY(SELECT r FROM jsonb_array_elements(payload -> kind) r);
        logged := array_fill(NULL::timestamptz, ARRAY[cardinality(recs)]);

    ELSIF jsonb_typeof(payload) = 'array' THEN
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(payload) v
                   WHERE jsonb_typeof(v) <> 'object'
                      OR coalesce(v ->> 'action', 'upsert')
                         NOT IN ('create', 'update', 'upsert'))
        THEN
            RETURN;
        END IF;

        SELECT array_agg(v -> 'payload' ORDER BY o),
               array_agg(CASE WHEN jsonb_typeof(v -> 'logged_at') = 'string'
                              THEN (v ->> 'logged_at')::timestamptz END
                         ORDER BY o)
        INTO recs, logged
        FROM jsonb_array_elements(payload) WITH ORDINALITY AS x(v, o);
    END IF;
END
$$;

-- jsonb type checks with the per-record rules: required (need), optional
-- (opt: absent or null allowed), integer (backbone_int's pattern)
CREATE FUNCTION backbone_ok_need(v jsonb, kind text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_typeof(v) = kind, false)
$$;

CREATE FUNCTION backbone_ok_opt(v jsonb, kind text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_typeof(v), 'null') IN ('null', kind)
$$;

CREATE FUNCTION backbone_ok_int(v jsonb, required boolean)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN coalesce(jsonb_typeof(v), 'null') = 'null'
                THEN NOT required
                ELSE jsonb_typeof(v) = 'number'
                     AND (v #>> '{}') ~ '^-?[0-9]{1,18}$' END
$$;

-- The fast path for games: true when it stored the whole event.
CREATE FUNCTION backbone_sync_games_fast(payload jsonb)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    recs    jsonb[];
    logged    timestamptz[];
    stale     bigint[];
    ids       bigint[];
    rids      bigint[];
    n_new     bigint;
BEGIN
    SELECT * INTO recs, logged FROM backbone_sync_records('games', payload);

    IF recs IS NULL THEN
        RETURN false;
    END IF;

    -- every record valid, each record once
    IF NOT (
        SELECT coalesce(bool_and(
                   jsonb_typeof(r) = 'object'
                   AND backbone_ok_int(r -> 'id', true)
                   AND backbone_ok_need(r -> 'game', 'string')
                   AND backbone_ok_need(r -> 'display_name', 'string')
                   AND backbone_ok_opt(r -> 'display', 'boolean')
                   AND backbone_ok_opt(r -> 'description', 'string')
                   AND backbone_ok_opt(r -> 'homepage_url', 'string')
                   AND backbone_ok_opt(r -> 'user_agent', 'string')
                   AND backbone_ok_opt(r -> 'user_agent_url', 'string')
                   AND backbone_ok_opt(r -> 'allow_character_registration',
                                       'boolean')
                   AND backbone_ok_opt(r -> 'redirect_uris', 'array')
                   AND backbone_ok_opt(r -> 'mssp_last_seen_at', 'string')
                   AND backbone_ok_opt(r -> 'connections', 'array')
                   AND NOT EXISTS (
                       SELECT 1
                       FROM jsonb_array_elements(
                                CASE WHEN jsonb_typeof(r -> 'connections')
                                          = 'array'
                                     THEN r -> 'connections'
                                     ELSE '[]' END) c
                       WHERE NOT (jsonb_typeof(c) = 'object'
                                  AND backbone_ok_need(c -> 'type', 'string')
                                  AND backbone_ok_opt(c -> 'id', 'string')
                                  AND backbone_ok_opt(c -> 'url', 'string')
                                  AND backbone_ok_opt(c -> 'host', 'string')
                                  AND backbone_ok_int(c -> 'port', false)))),
               true)
               AND count(DISTINCT r ->> 'id') = count(*)
        FROM unnest(recs) AS r)
    THEN
        RETURN false;
    END IF;

    WITH stored AS (
    INSERT INTO games AS g (remote_id, short_name, name, display,
                            description, homepage_url, user_agent,
                            user_agent_url, allow_character_registration,
                            redirect_uris, mssp_last_seen_at,
                            remote_logged_at)
    SELECT (r ->> 'id')::bigint, r ->> 'game', r ->> 'display_name',
           coalesce((r ->> 'display')::boolean, true),
           r ->> 'description', r ->> 'homepage_url', r ->> 'user_agent',
           r ->> 'user_agent_url',
           coalesce((r ->> 'allow_character_registration')::boolean, true),
           CASE WHEN jsonb_typeof(r -> 'redirect_uris') = 'array'
                THEN ARRAY(SELECT jsonb_array_elements_text(
                                      r -> 'redirect_uris'))
                ELSE '{}' END,
           (r ->> 'mssp_last_seen_at')::timestamptz,
           l
    FROM unnest(recs, logged) AS u(r, l)
    ON CONFLICT (remote_id) DO UPDATE
        SET short_name = excluded.short_name, name = excluded.name,
            display = excluded.display, description = excluded.description,
            homepage_url = excluded.homepage_url,
            user_agent = excluded.user_agent,
            user_agent_url = excluded.user_agent_url,
            allow_character_registration =
                excluded.allow_character_registration,
            redirect_uris = excluded.redirect_uris,
            mssp_last_seen_at = excluded.mssp_last_seen_at,
            remote_logged_at = excluded.remote_logged_at,
            updated_at = now()
        WHERE (g.remote_logged_at IS NULL OR excluded.remote_logged_at IS NULL
               OR g.remote_logged_at <= excluded.remote_logged_at)
          AND (g.short_name, g.name, g.display, g.description,
               g.homepage_url, g.user_agent, g.user_agent_url,
               g.allow_character_registration, g.redirect_uris,
               g.mssp_last_seen_at, g.remote_logged_at)
              IS DISTINCT FROM
              (excluded.short_name, excluded.name, excluded.display,
               excluded.description, excluded.homepage_url,
               excluded.user_agent, excluded.user_agent_url,
               excluded.allow_character_registration, excluded.redirect_uris,
               excluded.mssp_last_seen_at, excluded.remote_logged_at)
    RETURNING g.id, g.remote_id, g.xmax = 0 AS fresh)
    SELECT array_agg(id), array_agg(remote_id), count(*) FILTER (WHERE fresh)
    INTO ids, rids, n_new
    FROM stored;

    -- Every game new (the first sync): their connections are new too.
    IF n_new = cardinality(recs) THEN
        INSERT INTO game_connections (game_id, remote_key, type, url, host,
                                      port)
        SELECT s.id, coalesce(c ->> 'id', c ->> 'type'), c ->> 'type',
               c ->> 'url', c ->> 'host', (c ->> 'port')::bigint
        FROM unnest(ids, rids) AS s(id, rid)
        JOIN unnest(recs) AS r ON (r ->> 'id')::bigint = s.rid
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(r -> 'connections') = 'array'
                 THEN r -> 'connections' ELSE '[]' END) AS c;

        RETURN true;
    END IF;

    -- Connections of every game this event may change (not an older
    -- version), diffed by their key.  The games are looked up one by one
    -- through a LATERAL ... OFFSET 0 subquery: plpgsql caches a generic
    -- plan made when the tables were empty (the first sync), and a plain
    -- join is then planned as a hash join over a sequential scan of games,
    -- which makes the first sync quadratic.
    INSERT INTO game_connections AS gc (game_id, remote_key, type, url, host,
                                        port)
    SELECT g.id, coalesce(c ->> 'id', c ->> 'type'), c ->> 'type',
           c ->> 'url', c ->> 'host', (c ->> 'port')::bigint
    FROM unnest(recs, logged) AS u(r, l)
    CROSS JOIN LATERAL (
        SELECT id FROM games
        WHERE remote_id = (u.r ->> 'id')::bigint
          AND (remote_logged_at IS NULL OR u.l IS NULL
               OR remote_logged_at <= u.l)
        OFFSET 0) AS g
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(u.r -> 'connections') = 'array'
             THEN u.r -> 'connections' ELSE '[]' END) AS c
    ON CONFLICT (game_id, remote_key) DO UPDATE
        SET type = excluded.type, url = excluded.url,
            host = excluded.host, port = excluded.port
        WHERE (gc.type, gc.url, gc.host, gc.port)
              IS DISTINCT FROM (excluded.type, excluded.url,
                                excluded.host, excluded.port);

    -- connections no longer listed: usually none, so look first
    stale := ARRAY(
        SELECT x.id
        FROM unnest(recs, logged) AS u(r, l)
        CROSS JOIN LATERAL (
            SELECT id FROM games
            WHERE remote_id = (u.r ->> 'id')::bigint
              AND (remote_logged_at IS NULL OR u.l IS NULL
                   OR remote_logged_at <= u.l)
            OFFSET 0) AS g
        CROSS JOIN LATERAL (
            SELECT gc.id, gc.remote_key FROM game_connections gc
            WHERE gc.game_id = g.id
            OFFSET 0) AS x
        WHERE x.remote_key <> ALL (ARRAY(
                  SELECT coalesce(c ->> 'id', c ->> 'type')
                  FROM jsonb_array_elements(
                      CASE WHEN jsonb_typeof(u.r -> 'connections') = 'array'
                           THEN u.r -> 'connections' ELSE '[]' END) c)));

    IF cardinality(stale) > 0 THEN
        DELETE FROM game_connections WHERE id = ANY (stale);
    END IF;

    RETURN true;
END
$$;

-- The fast path for channels.
CREATE FUNCTION backbone_sync_channels_fast(payload jsonb)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    recs    jsonb[];
    logged  timestamptz[];
BEGIN
    SELECT * INTO recs, logged FROM backbone_sync_records('channels',
                                                          payload);

    IF recs IS NULL THEN
        RETURN false;
    END IF;

    IF NOT (
        SELECT coalesce(bool_and(
                   jsonb_typeof(r) = 'object'
                   AND backbone_ok_int(r -> 'id', true)
                   AND backbone_ok_need(r -> 'name', 'string')
                   AND backbone_ok_opt(r -> 'description', 'string')
                   AND backbone_ok_opt(r -> 'hidden', 'boolean')), true)
               AND count(DISTINCT r ->> 'id') = count(*)
        FROM unnest(recs) AS r)
    THEN
        RETURN false;
    END IF;

    INSERT INTO channels AS c (remote_id, name, description, hidden,
                               remote_logged_at)
    SELECT (r ->> 'id')::bigint, r ->> 'name', r ->> 'description',
           coalesce((r ->> 'hidden')::boolean, false), l
    FROM unnest(recs, logged) AS u(r, l)
    ON CONFLICT (remote_id) DO UPDATE
        SET name = excluded.name, description = excluded.description,
            hidden = excluded.hidden,
            remote_logged_at = excluded.remote_logged_at,
            updated_at = now()
        WHERE (c.remote_logged_at IS NULL OR excluded.remote_logged_at IS NULL
               OR c.remote_logged_at <= excluded.remote_logged_at)
          AND (c.name, c.description, c.hidden, c.remote_logged_at)
              IS DISTINCT FROM (excluded.name, excluded.description,
                                excluded.hidden, excluded.remote_logged_at);

    RETURN true;
END
$$;

-- backbone_sync() as in 0002, with the fast path in front of the loop.
CREATE FUNCTION backbone_sync(kind text, payload jsonb)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    versions  jsonb;
    v         jsonb;
    rec       jsonb;
    act       text;
    logged    timestamptz;
    newest    timestamptz;
    n         integer := 0;
    fast      boolean := false;
BEGIN
    IF kind IN ('games', 'channels') THEN
        BEGIN
            IF kind = 'games' THEN
                fast := backbone_sync_games_fast(payload);
            ELSE
                fast := backbone_sync_channels_fast(payload);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            -- rolled back: the loop below decides, record by record
            RAISE DEBUG 'backbone_sync(%): fast path failed: %', kind,
                        SQLERRM;
            fast := false;
        END;
    END IF;

    IF fast THEN
        IF jsonb_typeof(payload) = 'array' THEN
            SELECT max((x ->> 'logged_at')::timestamptz) INTO newest
            FROM jsonb_array_elements(payload) x
            WHERE jsonb_typeof(x -> 'logged_at') = 'string';
        END IF;

    ELSE
        RAISE DEBUG 'backbone_sync(%): record by record', kind;

        IF jsonb_typeof(payload) = 'array' THEN
            versions := payload;
        ELSIF jsonb_typeof(payload) = 'object'
              AND jsonb_typeof(payload -> kind) = 'array'
        THEN
            SELECT coalesce(jsonb_agg(jsonb_build_object('action', 'upsert',
                                                         'payload', r)), '[]')
            INTO versions
            FROM jsonb_array_elements(payload -> kind) AS r;
        ELSE
            RETURN NEXT format('sync/%s: the payload is neither a list of '
                               'versions nor {"%s": [...]}', kind, kind);
            RETURN;
        END IF;

        FOR v IN SELECT * FROM jsonb_array_elements(versions) LOOP
            n := n + 1;
            rec := NULL;

            BEGIN
                IF jsonb_typeof(v) <> 'object' THEN
                    RAISE EXCEPTION 'not an object';
                END IF;

                act := coalesce(v ->> 'action', 'upsert');
                IF act NOT IN ('create', 'update', 'delete', 'upsert') THEN
                    RAISE EXCEPTION 'unknown action "%"', act;
                END IF;

                logged := NULL;
                IF v ? 'logged_at'
                   AND jsonb_typeof(v -> 'logged_at') = 'string'
                THEN
                    logged := (v ->> 'logged_at')::timestamptz;
                END IF;

                rec := v -> 'payload';
                IF rec IS NULL OR jsonb_typeof(rec) <> 'object' THEN
                    RAISE EXCEPTION 'the record is not an object';
                END IF;

                IF kind = 'channels' THEN
                    IF act <> 'delete' THEN
                        PERFORM backbone_channel(rec, logged);
                    END IF;
                ELSIF kind = 'games' THEN
                    IF act <> 'delete' THEN
                        PERFORM backbone_game(rec, logged);
                    END IF;
                ELSIF kind = 'events' THEN
                    PERFORM backbone_event(rec, act, logged);
                ELSIF kind = 'achievements' THEN
                    PERFORM backbone_achievement(rec, act, logged);
                END IF;

                IF logged IS NOT NULL
                   AND (newest IS NULL OR logged > newest)
                THEN
                    newest := logged;
                END IF;

            EXCEPTION WHEN OTHERS THEN
                RETURN NEXT format('%s record %s%s: %s', rtrim(kind, 's'), n,
                                   CASE WHEN jsonb_typeof(rec) = 'object'
                                             AND rec ? 'id'
                                        THEN ' (id ' || (rec ->> 'id') || ')'
                                        ELSE '' END,
                                   SQLERRM);
            END;
        END LOOP;
    END IF;

    IF newest IS NOT NULL THEN
        INSERT INTO settings (name, value)
        VALUES ('hub_since:' || kind,
                to_char(newest AT TIME ZONE 'UTC',
                        'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        ON CONFLICT (name) DO UPDATE
            SET value = excluded.value, updated_at = now()
            WHERE settings.value::timestamptz < excluded.value::timestamptz;
    END IF;
END
$$;


-- Presence events and channel messages.  Returns rows naming anything it
-- could not use.
CREATE FUNCTION backbone_ingest(frame jsonb)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    ev   text := frame ->> 'event';
    p    jsonb := frame -> 'payload';
    gid  bigint;
BEGIN
    IF ev LIKE 'sync/%' THEN
        RETURN QUERY SELECT * FROM backbone_sync(substr(ev, 6), p);
        RETURN;
    END IF;

    IF jsonb_typeof(p) IS DISTINCT FROM 'object' THEN
        RETURN;
    END IF;

    IF ev = 'channels/broadcast' THEN
        INSERT INTO channel_messages (channel_id, channel_name, game_name,
                                      player_name, message, hub_ref)
        SELECT (SELECT id FROM channels
                WHERE lower(name) = lower(p ->> 'channel')),
               p ->> 'channel', p ->> 'game', p ->> 'name', p ->> 'message',
               frame ->> 'ref'
        WHERE p ->> 'channel' IS NOT NULL AND p ->> 'game' IS NOT NULL
          AND p ->> 'name' IS NOT NULL AND p ->> 'message' IS NOT NULL
        ON CONFLICT (hub_ref) DO NOTHING;
        RETURN;
    END IF;

    gid := backbone_game_by_name(p ->> 'game');

    IF gid IS NULL THEN
        IF p ? 'game' THEN
            RETURN NEXT format('%s: game "%s" is unknown', ev, p ->> 'game');
        END IF;
        RETURN;
    END IF;

    IF ev = 'players/sign-in' AND p ->> 'name' <> '' THEN
        INSERT INTO players_online (game_id, name)
        VALUES (gid, p ->> 'name')
        ON CONFLICT (game_id, lower(name)) DO NOTHING;
        UPDATE games SET online = true, last_seen_at = now()
        WHERE id = gid;

    ELSIF ev = 'players/sign-out' THEN
        DELETE FROM players_online
        WHERE game_id = gid AND lower(name) = lower(p ->> 'name');

    ELSIF ev = 'players/status'
          AND jsonb_typeof(p -> 'players') = 'array'
    THEN
        DELETE FROM players_online WHERE game_id = gid;
        INSERT INTO players_online (game_id, name)
        SELECT DISTINCT ON (lower(n)) gid, n
        FROM jsonb_array_elements_text(p -> 'players') AS n
        WHERE n <> ''
        ON CONFLICT DO NOTHING;
        UPDATE games SET online = true, last_seen_at = now()
        WHERE id = gid;

    ELSIF ev IN ('games/connect', 'games/status') THEN
        UPDATE games SET online = true, last_seen_at = now()
        WHERE id = gid;

    ELSIF ev = 'games/disconnect' THEN
        UPDATE games SET online = false WHERE id = gid;
        DELETE FROM players_online WHERE game_id = gid;
    END IF;
END
$$;

-- "since" for the next sync request: NULL (everything) until each kind of
-- record has been synced once.
CREATE FUNCTION backbone_since() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN count(*) = 4 THEN min(value) END
    FROM settings
    WHERE name IN ('hub_since:channels', 'hub_since:games',
                   'hub_since:events', 'hub_since:achievements')
$$;
