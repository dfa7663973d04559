-- the signed-in player's characters by state, and the registration key;
-- args: welcome (just signed up)
CREATE OR REPLACE FUNCTION site_characters(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    u      users;
    lists  jsonb;
BEGIN
    SELECT * INTO u FROM users WHERE id = (me ->> 'id')::bigint;

    SELECT jsonb_object_agg(s.state, coalesce((
               SELECT jsonb_agg(jsonb_build_object(
                          'id', c.id, 'name', c.name, 'game_name', g.name,
                          'game_short_name', g.short_name,
                          'game_listed', g.display,
                          'registered', site_time(c.inserted_at))
                          ORDER BY lower(g.name), lower(c.name))
               FROM characters c JOIN games g ON g.id = c.game_id
               WHERE c.user_id = u.id AND c.state = s.state), '[]'))
    INTO lists
    FROM unnest(ARRAY['pending', 'approved', 'denied']) AS s(state);

    RETURN jsonb_build_object(
        'registration_key', u.registration_key,
        'welcome', args ->> 'welcome' IS NOT NULL,
        'pending', lists -> 'pending',
        'approved', lists -> 'approved',
        'denied', lists -> 'denied',
        'has_characters', EXISTS (SELECT 1 FROM characters
                                  WHERE user_id = u.id));
END
$$;
