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
