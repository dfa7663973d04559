-- a game's page: the game, its connections, who is online (when it shows
-- them), its events and achievements, and the approved characters of
-- players who are not suspended; args: short_name
CREATE OR REPLACE FUNCTION site_game(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g  games;
BEGIN
    SELECT * INTO g FROM games
    WHERE lower(short_name) = lower(args ->> 'short_name') AND display;

    IF NOT FOUND THEN
        RETURN site_status(404);
    END IF;

    RETURN jsonb_build_object(
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
