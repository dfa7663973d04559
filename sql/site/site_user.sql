-- a player's public profile: approved characters; args: name
CREATE OR REPLACE FUNCTION site_user(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    u  users;
BEGIN
    SELECT * INTO u FROM users
    WHERE lower(username) = lower(args ->> 'name') AND suspended_at IS NULL;

    IF NOT FOUND THEN
        RETURN site_status(404);
    END IF;

    RETURN jsonb_build_object(
        'user', jsonb_build_object(
            'username', u.username,
            'since', to_char(u.inserted_at AT TIME ZONE 'UTC',
                             'FMMonth YYYY'),
            'is_me', (me ->> 'id')::bigint IS NOT DISTINCT FROM u.id),
        'characters', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'name', c.name, 'game_name', g.name,
                       'game_short_name', g.short_name,
                       'game_listed', g.display)
                       ORDER BY lower(g.name), lower(c.name))
            FROM characters c JOIN games g ON g.id = c.game_id
            WHERE c.user_id = u.id AND c.state = 'approved'), '[]'));
END
$$;
