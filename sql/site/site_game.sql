-- a game's page: the game, its connections (20 at most), who is online
-- when it shows them (100 at most, by name, and how many more), its
-- upcoming events (20 at most), its achievements (100 at most, and how
-- many more), and the approved characters of players who are not
-- suspended, 50 a page by name; and, when it shows its players, the chart
-- of its players online over period (48h by default, 7d or 30d; anything
-- else is a 400); args: short_name, page, period
CREATE OR REPLACE FUNCTION site_game(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g         games;
    page      integer := site_page(args);
    per_page  constant integer := 50;
    players   integer;
    feats     bigint;
    chars     jsonb;
    n         integer;
    period    text := coalesce(args ->> 'period', '48h');
BEGIN
    IF period NOT IN ('48h', '7d', '30d') THEN
        RETURN site_status(400, '{"error": "bad_period"}');
    END IF;

    SELECT * INTO g FROM games
    WHERE lower(short_name) = lower(args ->> 'short_name') AND display;

    IF NOT FOUND THEN
        RETURN site_status(404);
    END IF;

    SELECT coalesce(k.players, 0) INTO players
    FROM (SELECT 1) AS one LEFT JOIN game_counts k ON k.game_id = g.id;

    SELECT count(*) INTO feats FROM achievements a
    WHERE a.game_id = g.id AND NOT a.is_deleted AND a.display;

    -- a page of characters and one more, along characters_list_idx; the
    -- suspended accounts are few, and looked up in a hash
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'name', c.name, 'username', u.username,
               'user_path', site_path('/users/', u.username))
               ORDER BY c.n) FILTER (WHERE c.n <= per_page), '[]'),
           count(*)
    INTO chars, n
    FROM (SELECT c.name, c.user_id,
                 row_number() OVER (ORDER BY lower(c.name)) AS n
          FROM (SELECT name, user_id FROM characters
                WHERE game_id = g.id AND state = 'approved'
                  AND user_id NOT IN (SELECT id FROM users
                                      WHERE suspended_at IS NOT NULL)
                ORDER BY lower(name)
                OFFSET (page - 1) * per_page LIMIT per_page + 1) AS c) AS c
    JOIN users u ON u.id = c.user_id;

    RETURN jsonb_build_object(
        'game', jsonb_build_object(
            'name', g.name, 'short_name', g.short_name,
            'path', site_path('/games/', g.short_name),
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
            FROM (SELECT * FROM game_connections
                  WHERE game_id = g.id
                  ORDER BY type = 'web' DESC, type, id LIMIT 20) c), '[]'),
        'players', CASE WHEN g.display_players THEN coalesce((
            SELECT jsonb_agg(p.name ORDER BY lower(p.name))
            FROM (SELECT name FROM players_online
                  WHERE game_id = g.id
                  ORDER BY lower(name) LIMIT 100) p), '[]')
            ELSE '[]' END,
        'players_more', CASE WHEN g.display_players AND players > 100
                             THEN players - 100 END,
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
            FROM (SELECT * FROM achievements
                  WHERE game_id = g.id AND NOT is_deleted AND display
                  ORDER BY points DESC, lower(title), id LIMIT 100) a),
            '[]'),
        'achievements_more', CASE WHEN feats > 100 THEN feats - 100 END,
        'chart', CASE WHEN g.display_players
                      THEN site_chart(g.id, period) END,
        'periods', CASE WHEN g.display_players THEN (
            SELECT jsonb_agg(jsonb_build_object(
                       'period', p, 'label', l, 'current', p = period,
                       'path', site_path('/games/', g.short_name)
                               || CASE WHEN p = '48h' THEN ''
                                       ELSE '?period=' || p END)
                       ORDER BY o)
            FROM (VALUES (1, '48h', '48 hours'), (2, '7d', '7 days'),
                         (3, '30d', '30 days')) AS v(o, p, l)) END,
        'characters', chars,
        'characters_pager', site_pager(site_path('/games/', g.short_name),
                                       page, n > per_page));
END
$$;
