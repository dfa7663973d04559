-- the home page: the network's figures, as the triggers of site_counts.sql
-- and site_chat_counts.sql keep them (chat today: the last 24 hours, to
-- the minute), and 24 of the games online now: the most played first
-- (then the longest on the network), then those nobody plays, by name;
-- online_more when there are others (all of them are on
-- /games?games[online]=yes); the chart of the network's players online
-- over the last 48 hours (site_chart()).  PL/pgSQL, so that its plan is
-- kept from one call to the next (a LANGUAGE sql function's is made anew
-- each time).
CREATE OR REPLACE FUNCTION site_home(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    f       jsonb;
    online  jsonb;
    shown   bigint;
BEGIN
    SELECT jsonb_object_agg(name, n) INTO f FROM site_counts;

    WITH played AS (
        -- along game_counts_players_idx: 24 rows read, whatever the size
        SELECT g.id, g.name, g.short_name, g.description, g.display_players,
               k.players
        FROM game_counts k JOIN games g ON g.id = k.game_id
        WHERE k.players > 0 AND g.online AND g.display
        ORDER BY k.players DESC, k.game_id
        LIMIT 24
    ), idle AS (
        SELECT g.id, g.name, g.short_name, g.description, g.display_players,
               0 AS players
        FROM games g
        WHERE g.online AND g.display
          AND NOT EXISTS (SELECT 1 FROM game_counts k
                          WHERE k.game_id = g.id AND k.players > 0)
        ORDER BY g.online DESC, lower(g.name), g.id
        LIMIT 24 - (SELECT count(*) FROM played)
    ), shown AS (
        SELECT *, 1 AS part FROM played
        UNION ALL
        SELECT *, 2 FROM idle
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'name', s.name, 'short_name', s.short_name,
               'path', site_path('/games/', s.short_name),
               'description', site_excerpt(s.description, 160),
               'players', CASE WHEN s.display_players
                               THEN nullif(s.players, 0) END)
               ORDER BY s.part, s.players DESC,
                        CASE WHEN s.part = 1 THEN s.id END,
                        lower(s.name), s.id), '[]'),
           count(*)
    INTO online, shown
    FROM shown s;

    RETURN jsonb_build_object(
        'figures', jsonb_build_object(
            'games_online', f -> 'games_online',
            'players_online', f -> 'players_online',
            'games', f -> 'games',
            'channels', (SELECT count(*) FROM channels WHERE NOT hidden),
            'users', f -> 'users',
            'characters', f -> 'characters',
            'messages_today', (SELECT coalesce(sum(messages), 0)
                               FROM chat_minutes
                               WHERE minute >= date_trunc('minute',
                                                 now() - interval '1 day'))),
        'online', online,
        'chart', site_chart(0, '48h'),
        'online_more', (f ->> 'games_online')::bigint > shown);
END
$$;
