CREATE OR REPLACE FUNCTION site_settings(me jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'title', 'Settings',
        'nav_settings', true,
        'account', jsonb_build_object('username', u.username,
                                      'email', u.email,
                                      'since', site_time(u.inserted_at)))
    FROM users u WHERE u.id = (me ->> 'id')::bigint
$$;
