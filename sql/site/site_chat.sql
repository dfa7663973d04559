-- the public channels
CREATE OR REPLACE FUNCTION site_chat(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'channels', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'name', c.name, 'description', c.description,
                       'messages', (SELECT count(*) FROM channel_messages m
                                    WHERE m.channel_id = c.id
                                      AND NOT m.hidden),
                       'last', (SELECT site_time(max(m.inserted_at))
                                FROM channel_messages m
                                WHERE m.channel_id = c.id AND NOT m.hidden))
                       ORDER BY lower(c.name))
            FROM channels c WHERE NOT c.hidden), '[]'))
$$;
