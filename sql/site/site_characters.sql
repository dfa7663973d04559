-- the signed-in player's characters by state (100 of each at most, by
-- game then name, and how many more), and the registration key; args:
-- welcome (just signed up)
CREATE OR REPLACE FUNCTION site_characters(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    u      users;
    lists  jsonb;
BEGIN
    SELECT * INTO u FROM users WHERE id = (me ->> 'id')::bigint;

    SELECT jsonb_object_agg(s.state, l.list)
           || jsonb_object_agg(s.state || '_more', l.more)
    INTO lists
    FROM unnest(ARRAY['pending', 'approved', 'denied']) AS s (state)
    CROSS JOIN LATERAL (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', c.id, 'name', c.name, 'game_name', c.game_name,
                   'game_short_name', c.short_name,
                   'game_listed', c.display,
                   'game_path', CASE WHEN c.display
                                     THEN site_path('/games/', c.short_name)
                                END,
                   'registered', site_time(c.inserted_at))
                   ORDER BY c.n) FILTER (WHERE c.n <= 100), '[]') AS list,
               CASE WHEN count(*) > 100
                    THEN (SELECT count(*) FROM characters
                          WHERE user_id = u.id AND state = s.state) - 100
               END AS more
        FROM (SELECT c.id, c.name, c.inserted_at, g.name AS game_name,
                     g.short_name, g.display,
                     row_number() OVER (ORDER BY lower(g.name), g.id,
                                                 lower(c.name)) AS n
              FROM characters c
              CROSS JOIN LATERAL (SELECT * FROM games
                                  WHERE id = c.game_id LIMIT 1) AS g
              WHERE c.user_id = u.id AND c.state = s.state
              ORDER BY lower(g.name), g.id, lower(c.name)
              LIMIT 101) AS c) AS l;

    RETURN jsonb_build_object(
        'registration_key', u.registration_key,
        'welcome', args ->> 'welcome' IS NOT NULL,
        'pending', lists -> 'pending',
        'approved', lists -> 'approved',
        'denied', lists -> 'denied',
        'pending_more', lists -> 'pending_more',
        'approved_more', lists -> 'approved_more',
        'denied_more', lists -> 'denied_more',
        'has_characters', EXISTS (SELECT 1 FROM characters
                                  WHERE user_id = u.id));
END
$$;
