-- A PROPOSAL for migrations/0002_backbone.sql, not a migration: the
-- benchmark's findings (bench/README.md, "Where the ingest time goes").
-- Applied after 0002 (CREATE OR REPLACE), it changes backbone_sync() only:
--
-- * games and channels (the bulk of every sync) take a set-based fast
--   path: every record of the event is checked up front with the same
--   rules as backbone_need()/backbone_opt()/backbone_int(), then one
--   INSERT ... SELECT ... ON CONFLICT DO UPDATE stores them all, one more
--   upserts all their connections and one deletes the stale connections;
-- * the fast path runs in one subtransaction per event; anything it does
--   not take (an invalid record, a delete, two versions of one record in
--   one event) or any error it meets (a short name taken by another game,
--   a bad timestamp, a port out of range) rolls it back, and the event
--   goes through the existing per-record loop, which skips and names
--   exactly the records it skips today.  So the stored rows and the skip
--   messages are the same as now, for every input;
-- * events and achievements keep the per-record loop (they are few).
--
-- Try it on a scratch database:
--   psql -d scratch -f bench/proposals/0002-ingest-set-based.sql
--   bench/profile-ingest.pl scratch frames.jsonl

-- The records of one sync event of KIND, both shapes, in order: NULL when
-- the event holds anything the fast path leaves to the per-record loop
-- (then nothing was written).  Raises on a bad logged_at (the caller
-- treats that as "not taken").
CREATE OR REPLACE FUNCTION backbone_sync_records(kind text, payload jsonb,
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
CREATE OR REPLACE FUNCTION backbone_ok_need(v jsonb, kind text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_typeof(v) = kind, false)
$$;

CREATE OR REPLACE FUNCTION backbone_ok_opt(v jsonb, kind text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_typeof(v), 'null') IN ('null', kind)
$$;

CREATE OR REPLACE FUNCTION backbone_ok_int(v jsonb, required boolean)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN coalesce(jsonb_typeof(v), 'null') = 'null'
                THEN NOT required
                ELSE jsonb_typeof(v) = 'number'
                     AND (v #>> '{}') ~ '^-?[0-9]{1,18}$' END
$$;

-- The fast path for games: true when it stored the whole event.
CREATE OR REPLACE FUNCTION backbone_sync_games_fast(payload jsonb)
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
CREATE OR REPLACE FUNCTION backbone_sync_channels_fast(payload jsonb)
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
CREATE OR REPLACE FUNCTION backbone_sync(kind text, payload jsonb)
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
