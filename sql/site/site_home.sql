-- the home page: the network's figures and the games online now
CREATE OR REPLACE FUNCTION site_home(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
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
