-- the games, online first then by name, 25 a page; args: name, online,
-- page.  A page is read along the index of that order (games_list_idx),
-- its offset from the index alone; the totals are the counts the
-- triggers keep, or, with a name, the count of the games it finds by
-- the trigram index of their names (games_names_trgm_idx; planned for
-- that name: EXECUTE).
CREATE OR REPLACE FUNCTION site_games(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    name_q    text := left(btrim(coalesce(args ->> 'name', '')), 100);
    only_on   boolean := coalesce(args ->> 'online', '') IN ('yes', 'on',
                                                              'true', '1');
    page      integer := site_page(args);
    per_page  constant integer := 25;
    total     bigint;
    pages     bigint;
    ids       bigint[];
    base      text;
    items     jsonb;
BEGIN
    IF name_q = '' THEN
        SELECT n INTO total FROM site_counts
        WHERE name = CASE WHEN only_on THEN 'games_online' ELSE 'games' END;

        SELECT array_agg(id) INTO ids
        FROM (SELECT id FROM games
              WHERE display AND (online OR NOT only_on)
              ORDER BY online DESC, lower(name), id
              OFFSET (page - 1) * per_page LIMIT per_page) AS g;
    ELSE
        EXECUTE 'SELECT count(*) FROM games
                 WHERE display AND (online OR NOT $2)
                   AND (lower(name) || E''\n'' || lower(short_name)) LIKE $1
                   AND (lower(name) LIKE $1 OR lower(short_name) LIKE $1)'
        INTO total USING site_like(lower(name_q)), only_on;

        EXECUTE 'SELECT array_agg(id) FROM (
                     SELECT id FROM games
                     WHERE display AND (online OR NOT $2)
                       AND (lower(name) || E''\n'' || lower(short_name))
                           LIKE $1
                       AND (lower(name) LIKE $1 OR lower(short_name) LIKE $1)
                     ORDER BY online DESC, lower(name), id
                     OFFSET $3 LIMIT $4) AS g'
        INTO ids USING site_like(lower(name_q)), only_on,
                       (page - 1) * per_page, per_page;
    END IF;

    pages := greatest(1, (coalesce(total, 0) + per_page - 1) / per_page);

    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'name', g.name, 'short_name', g.short_name,
               'path', site_path('/games/', g.short_name),
               'online', g.online,
               'description', site_excerpt(g.description, 200),
               'homepage_url', site_safe_url(g.homepage_url),
               'user_agent', g.user_agent,
               'players', CASE WHEN g.online AND g.display_players THEN
                          nullif((SELECT k.players FROM game_counts k
                                  WHERE k.game_id = g.id), 0) END)
               ORDER BY x.n), '[]')
    INTO items
    FROM unnest(ids) WITH ORDINALITY AS x (id, n)
    JOIN games g ON g.id = x.id;

    base := '/games?'
            || CASE WHEN name_q <> ''
                    THEN 'games%5Bname%5D=' || site_urlencode(name_q) || '&'
                    ELSE '' END
            || CASE WHEN only_on THEN 'games%5Bonline%5D=yes&' ELSE '' END;

    RETURN jsonb_build_object(
        'games', items,
        'filter', jsonb_build_object('name', name_q, 'online', only_on),
        'total', coalesce(total, 0), 'page', page, 'pages', pages,
        'paged', pages > 1,
        'prev', CASE WHEN page > 1 AND page <= pages
                     THEN base || 'page=' || (page - 1) END,
        'next', CASE WHEN page < pages THEN base || 'page=' || (page + 1) END);
END
$$;
