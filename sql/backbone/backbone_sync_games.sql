-- Games, upserted by their remote id, and their connections, diffed by
-- their key (the connection's id, else its type; the last of a key wins).
-- A delete changes nothing (the hub never deleted games).  A version older
-- than the stored one, or a record equal to it, is not written; the
-- connections of a game this event may change are diffed all the same.
-- Ids are unique in recs.
--
-- The games are looked up one by one through LATERAL ... OFFSET 0
-- subqueries: PL/pgSQL keeps a generic plan made when the tables were
-- empty (the first sync), and a plain join is then planned as a hash join
-- over a sequential scan of games, which makes the first sync quadratic.
CREATE OR REPLACE FUNCTION backbone_sync_games(recs jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ids     bigint[];
    rids    bigint[];
    n_new   bigint;
    n_recs  bigint;
    stale   bigint[];
BEGIN
    WITH stored AS (
    INSERT INTO games AS g (remote_id, short_name, name, display,
                            description, homepage_url, user_agent,
                            user_agent_url, allow_character_registration,
                            redirect_uris, mssp_last_seen_at,
                            remote_logged_at)
    SELECT r.id, r.game, r.display_name, coalesce(r.display, true),
           r.description, r.homepage_url, r.user_agent, r.user_agent_url,
           coalesce(r.allow_character_registration, true),
           coalesce(r.redirect_uris, '{}'), r.mssp_last_seen_at, r.logged_at
    FROM jsonb_to_recordset(recs)
         AS r(id bigint, game text, display_name text, display boolean,
              description text, homepage_url text, user_agent text,
              user_agent_url text, allow_character_registration boolean,
              redirect_uris text[], mssp_last_seen_at timestamptz,
              logged_at timestamptz, deleted boolean)
    WHERE NOT coalesce(r.deleted, false)
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
    SELECT array_agg(id), array_agg(remote_id),
           count(*) FILTER (WHERE fresh)
    INTO ids, rids, n_new
    FROM stored;

    SELECT count(*) INTO n_recs
    FROM jsonb_to_recordset(recs) AS r(deleted boolean)
    WHERE NOT coalesce(r.deleted, false);

    IF n_recs = 0 THEN
        RETURN;
    END IF;

    -- Every game new (the first sync): their connections are new too.
    IF n_new = n_recs THEN
        INSERT INTO game_connections (game_id, remote_key, type, url, host,
                                      port)
        SELECT DISTINCT ON (s.id, coalesce(c.id, c.type))
               s.id, coalesce(c.id, c.type), c.type, c.url, c.host, c.port
        FROM unnest(ids, rids) AS s(id, rid)
        JOIN jsonb_to_recordset(recs) AS r(id bigint, connections jsonb)
             ON r.id = s.rid
        CROSS JOIN LATERAL ROWS FROM (
            jsonb_to_recordset(r.connections)
            AS (id text, type text, url text, host text, port integer))
            WITH ORDINALITY AS c(id, type, url, host, port, n)
        ORDER BY s.id, coalesce(c.id, c.type), c.n DESC;

        RETURN;
    END IF;

    -- The connections of every game this event may change (not an older
    -- version), diffed by their key.
    INSERT INTO game_connections AS gc (game_id, remote_key, type, url, host,
                                        port)
    SELECT DISTINCT ON (g.id, coalesce(c.id, c.type))
           g.id, coalesce(c.id, c.type), c.type, c.url, c.host, c.port
    FROM jsonb_to_recordset(recs)
         AS r(id bigint, connections jsonb, logged_at timestamptz,
              deleted boolean)
    CROSS JOIN LATERAL (
        SELECT id FROM games
        WHERE remote_id = r.id
          AND (remote_logged_at IS NULL OR r.logged_at IS NULL
               OR remote_logged_at <= r.logged_at)
        OFFSET 0) AS g
    CROSS JOIN LATERAL ROWS FROM (
        jsonb_to_recordset(r.connections)
        AS (id text, type text, url text, host text, port integer))
        WITH ORDINALITY AS c(id, type, url, host, port, n)
    WHERE NOT coalesce(r.deleted, false)
    ORDER BY g.id, coalesce(c.id, c.type), c.n DESC
    ON CONFLICT (game_id, remote_key) DO UPDATE
        SET type = excluded.type, url = excluded.url,
            host = excluded.host, port = excluded.port
        WHERE (gc.type, gc.url, gc.host, gc.port)
              IS DISTINCT FROM (excluded.type, excluded.url,
                                excluded.host, excluded.port);

    -- connections no longer listed: usually none, so look first
    stale := ARRAY(
        SELECT x.id
        FROM jsonb_to_recordset(recs)
             AS r(id bigint, connections jsonb, logged_at timestamptz,
                  deleted boolean)
        CROSS JOIN LATERAL (
            SELECT id FROM games
            WHERE remote_id = r.id
              AND (remote_logged_at IS NULL OR r.logged_at IS NULL
                   OR remote_logged_at <= r.logged_at)
            OFFSET 0) AS g
        CROSS JOIN LATERAL (
            SELECT gc.id, gc.remote_key FROM game_connections gc
            WHERE gc.game_id = g.id
            OFFSET 0) AS x
        WHERE NOT coalesce(r.deleted, false)
          AND x.remote_key <> ALL (ARRAY(
                  SELECT coalesce(c.id, c.type)
                  FROM jsonb_to_recordset(r.connections)
                       AS c(id text, type text))));

    IF cardinality(stale) > 0 THEN
        DELETE FROM game_connections WHERE id = ANY (stale);
    END IF;
END
$$;
