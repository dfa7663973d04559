-- the signed-in player's settings; args: saved (what a change saved)
CREATE OR REPLACE FUNCTION site_settings(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'account', jsonb_build_object('username', u.username,
                                      'email', u.email,
                                      'since', site_time(u.inserted_at)),
        'saved_email', args ->> 'saved' = 'email',
        'saved_password', args ->> 'saved' = 'password')
    FROM users u WHERE u.id = (me ->> 'id')::bigint
$$;
