-- the games, online first then by name, 25 a page; args: name, online,
-- page
CREATE OR REPLACE FUNCTION site_games(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    name_q    text := btrim(coalesce(args ->> 'name', ''));
    only_on   boolean := coalesce(args ->> 'online', '') IN ('yes', 'on',
                                                              'true', '1');
    page      integer := 1;
    per_page  constant integer := 25;
    total     integer;
    pages     integer;
    base      text;
    items     jsonb;
BEGIN
    IF coalesce(args ->> 'page', '') ~ '^[0-9]{1,6}$' THEN
        page := greatest((args ->> 'page')::integer, 1);
    END IF;

    name_q := left(name_q, 100);

    SELECT count(*) INTO total FROM games g
    WHERE g.display AND (NOT only_on OR g.online)
      AND (name_q = '' OR strpos(lower(g.name), lower(name_q)) > 0
           OR strpos(lower(g.short_name), lower(name_q)) > 0);

    pages := greatest(1, (total + per_page - 1) / per_page);

    SELECT coalesce(jsonb_agg(x.item ORDER BY x.n), '[]') INTO items
    FROM (SELECT row_number() OVER (ORDER BY g.online DESC, lower(g.name),
                                        g.id) AS n,
                 jsonb_build_object(
                     'name', g.name, 'short_name', g.short_name,
                     'online', g.online,
                     'description', site_excerpt(g.description, 200),
                     'homepage_url', site_safe_url(g.homepage_url),
                     'user_agent', g.user_agent,
                     'players', CASE WHEN g.online AND g.display_players THEN
                                nullif((SELECT count(*) FROM players_online p
                                        WHERE p.game_id = g.id), 0) END)
                     AS item
          FROM games g
          WHERE g.display AND (NOT only_on OR g.online)
            AND (name_q = '' OR strpos(lower(g.name), lower(name_q)) > 0
                 OR strpos(lower(g.short_name), lower(name_q)) > 0)
          ORDER BY g.online DESC, lower(g.name), g.id
          OFFSET (page - 1) * per_page LIMIT per_page) AS x;

    base := '/games?'
            || CASE WHEN name_q <> ''
                    THEN 'games%5Bname%5D=' || site_urlencode(name_q) || '&'
                    ELSE '' END
            || CASE WHEN only_on THEN 'games%5Bonline%5D=yes&' ELSE '' END;

    RETURN jsonb_build_object(
        'games', items,
        'filter', jsonb_build_object('name', name_q, 'online', only_on),
        'total', total, 'page', page, 'pages', pages,
        'paged', pages > 1,
        'prev', CASE WHEN page > 1 AND page <= pages
                     THEN base || 'page=' || (page - 1) END,
        'next', CASE WHEN page < pages THEN base || 'page=' || (page + 1) END);
END
$$;
