-- A copy of NGX_GRAPEVINE_API_USER_SQL (src/grapevine/ngx_grapevine_api.c) as of
-- 2026-11-26, used only when that macro is gone from the source (then
-- update bench/api/endpoints, or this copy, to match the module's query).
SELECT u.username, g.short_name, g.name, c.name, to_char(c.inserted_at AT
TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), CASE WHEN g.display_players
THEN EXISTS (SELECT 1 FROM players_online p WHERE p.game_id = g.id AND
lower(p.name) = lower(c.name)) END FROM users u LEFT JOIN (characters c JOIN
games g ON g.id = c.game_id AND g.display) ON c.user_id = u.id AND c.state =
'approved' WHERE lower(u.username) = lower($1::text) AND u.suspended_at IS
NULL ORDER BY lower(g.name), g.id, lower(c.name), c.id
