-- A copy of NGX_GRAPEVINE_API_GAME_SQL (src/api/ngx_grapevine_api_queries.c)
-- as of 2026-11-26, used only when that macro is gone from the source (then
-- update bench/api/endpoints, or this copy, to match the module's query).
WITH g AS (SELECT id, short_name, name, description, homepage_url,
user_agent, user_agent_url, online, display_players, last_seen_at FROM games
WHERE display AND lower(short_name) = lower($1::text)) SELECT 0, 0::bigint,
short_name, name, description, homepage_url, user_agent, user_agent_url,
online::text, display_players::text, to_char(last_seen_at AT TIME ZONE 'UTC',
'YYYY-MM-DD"T"HH24:MI:SS"Z"'), (SELECT count(*) FROM achievements a WHERE
a.game_id = g.id AND a.display AND NOT a.is_deleted)::text FROM g UNION ALL
SELECT 1, c.id, c.type, c.url, c.host, c.port::text, NULL, NULL, NULL, NULL,
NULL, NULL FROM g JOIN game_connections c ON c.game_id = g.id UNION ALL
SELECT 2, row_number() OVER (ORDER BY lower(p.name)), p.name, NULL, NULL,
NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM g JOIN players_online p ON
p.game_id = g.id WHERE g.display_players UNION ALL (SELECT 3, row_number()
OVER (ORDER BY e.start_date, e.id), e.title, e.description,
to_char(e.start_date, 'YYYY-MM-DD'), to_char(e.end_date, 'YYYY-MM-DD'), NULL,
NULL, NULL, NULL, NULL, NULL FROM g JOIN events e ON e.game_id = g.id WHERE
NOT e.is_deleted AND coalesce(e.end_date, e.start_date) >= current_date ORDER
BY e.start_date, e.id LIMIT 10) ORDER BY 1, 2
