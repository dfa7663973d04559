CREATE OR REPLACE FUNCTION backbone_game(rec jsonb, logged timestamptz)
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
