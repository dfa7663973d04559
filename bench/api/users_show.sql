-- A copy of NGX_GRAPEVINE_API_USER_SQL (src/api/ngx_grapevine_api_queries.c)
-- as of 2026-11-26, used only when that macro is gone from the source (then
-- update bench/api/endpoints, or this copy, to match the module's query).
SELECT u.username, page.short_name, page.game_name, page.name,
page.registered_at, page.online FROM users u LEFT JOIN LATERAL (SELECT g.id
AS game_id, g.short_name, g.name AS game_name, c.id, c.name,
to_char(c.inserted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS
registered_at, CASE WHEN g.display_players THEN EXISTS (SELECT 1 FROM
players_online p WHERE p.game_id = g.id AND lower(p.name) = lower(c.name))
END AS online FROM characters c JOIN games g ON g.id = c.game_id AND
g.display WHERE c.user_id = u.id AND c.state = 'approved' ORDER BY
lower(g.name), g.id, lower(c.name), c.id LIMIT 26 OFFSET $2::int) page ON
true WHERE lower(u.username) = lower($1::text) AND u.suspended_at IS NULL
ORDER BY lower(page.game_name), page.game_id, lower(page.name), page.id
