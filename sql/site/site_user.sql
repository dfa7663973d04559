-- a player's public profile: approved characters, 50 a page, by game then
-- name; args: name, page
CREATE OR REPLACE FUNCTION site_user(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    u         users;
    page      integer := site_page(args);
    per_page  constant integer := 50;
    chars     jsonb;
    n         integer;
BEGIN
    SELECT * INTO u FROM users
    WHERE lower(username) = lower(args ->> 'name') AND suspended_at IS NULL;

    IF NOT FOUND THEN
        RETURN site_status(404);
    END IF;

    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'name', c.name, 'game_name', c.game_name,
               'game_short_name', c.short_name,
               'game_listed', c.display,
               'game_path', CASE WHEN c.display
                                 THEN site_path('/games/', c.short_name) END)
               ORDER BY c.n) FILTER (WHERE c.n <= per_page), '[]'),
           count(*)
    INTO chars, n
    FROM (SELECT p.*,
                 row_number() OVER (ORDER BY lower(p.game_name), p.game_id,
                                             lower(p.name)) AS n
          FROM (SELECT c.name, g.name AS game_name, g.id AS game_id,
                       g.short_name, g.display
                FROM characters c
                -- each one's game by its key (a player has a few hundred
                -- at most: no join over every game)
                CROSS JOIN LATERAL (SELECT * FROM games
                                    WHERE id = c.game_id LIMIT 1) AS g
                WHERE c.user_id = u.id AND c.state = 'approved'
                ORDER BY lower(g.name), g.id, lower(c.name)
                OFFSET (page - 1) * per_page LIMIT per_page + 1) AS p) AS c;

    RETURN jsonb_build_object(
        'user', jsonb_build_object(
            'username', u.username,
            'path', site_path('/users/', u.username),
            'since', to_char(u.inserted_at AT TIME ZONE 'UTC',
                             'FMMonth YYYY'),
            'is_me', (me ->> 'id')::bigint IS NOT DISTINCT FROM u.id),
        'characters', chars,
        'pager', site_pager(site_path('/users/', u.username), page,
                            n > per_page));
END
$$;
