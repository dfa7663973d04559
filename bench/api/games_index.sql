-- A copy of NGX_GRAPEVINE_API_GAMES_SQL (src/api/ngx_grapevine_api_queries.c)
-- as of 2026-11-26, used only when that macro is gone from the source (then
-- update bench/api/endpoints, or this copy, to match the module's query).
SELECT g.id, g.short_name, g.name, g.description, g.homepage_url,
g.user_agent, g.online, c.type, c.url, c.host, c.port FROM (SELECT id,
short_name, name, description, homepage_url, user_agent, online FROM games
WHERE display AND ($1::text = 'all' OR online = ($1::text = 'yes')) AND
($2::text = '' OR strpos(lower(name), lower($2::text)) > 0 OR
strpos(lower(short_name), lower($2::text)) > 0) ORDER BY lower(name), id
LIMIT 26 OFFSET $3::int) g LEFT JOIN game_connections c ON c.game_id = g.id
ORDER BY lower(g.name), g.id, c.id
