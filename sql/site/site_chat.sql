-- the public channels, 100 a page by name, with their messages shown and
-- when the last one was said (as channel_counts keeps them); args: page
CREATE OR REPLACE FUNCTION site_chat(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    page   integer := site_page(args);
    chans  jsonb;
    n      integer;
BEGIN
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'name', c.name, 'description', c.description,
               'path', site_path('/chat/', c.name),
               'messages', coalesce(k.messages - k.hidden, 0),
               'last', site_time(k.last_at))
               ORDER BY c.n) FILTER (WHERE c.n <= 100), '[]'),
           count(*)
    INTO chans, n
    FROM (SELECT p.*, row_number() OVER (ORDER BY lower(p.name)) AS n
          FROM (SELECT * FROM channels WHERE NOT hidden
                ORDER BY lower(name)
                OFFSET (page - 1) * 100 LIMIT 101) AS p) AS c
    LEFT JOIN channel_counts k ON k.channel_id = c.id;

    RETURN jsonb_build_object(
        'channels', chans,
        'pager', site_pager('/chat', page, n > 100));
END
$$;
