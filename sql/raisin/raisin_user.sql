-- an account: role, suspension, its characters in any state (100 at
-- most, by game then name, and how many more), its latest 50 audit rows;
-- args: name
CREATE OR REPLACE FUNCTION raisin_user(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    u  users;
BEGIN
    SELECT * INTO u FROM users
    WHERE lower(username) = lower(args ->> 'name');

    IF NOT FOUND THEN
        RETURN raisin_fail(404, 'no_account');
    END IF;

    RETURN jsonb_build_object(
        'path', '/raisin/users/' || u.username,
        'user', jsonb_build_object(
            'username', u.username, 'email', u.email, 'role', u.role,
            'suspended', u.suspended_at IS NOT NULL,
            'suspended_at', raisin_iso(u.suspended_at),
            'since', site_time(u.inserted_at),
            'is_me', u.id = (me ->> 'id')::bigint,
            'roles', (SELECT jsonb_agg(jsonb_build_object(
                                 'role', r, 'current', r = u.role)
                             ORDER BY o)
                      FROM unnest(ARRAY['user', 'moderator', 'admin'])
                           WITH ORDINALITY AS x(r, o))),
        'can_suspend', u.id <> (me ->> 'id')::bigint
                       AND (u.role = 'user' OR me ->> 'role' = 'admin'),
        'can_change_role', u.id <> (me ->> 'id')::bigint
                           AND me ->> 'role' = 'admin',
        'characters', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', c.id, 'name', c.name, 'game', c.short_name,
                       'game_name', c.game_name, 'state', c.state,
                       'registered', site_time(c.inserted_at))
                       ORDER BY c.n)
            FROM (SELECT c.*, g.short_name, g.name AS game_name,
                         row_number() OVER (ORDER BY lower(g.name), g.id,
                                                     lower(c.name)) AS n
                  FROM characters c
                  CROSS JOIN LATERAL (SELECT * FROM games
                                      WHERE id = c.game_id LIMIT 1) AS g
                  WHERE c.user_id = u.id) c
            WHERE c.n <= 100), '[]'),
        'characters_more', (SELECT nullif(greatest(count(*) - 100, 0), 0)
                            FROM characters WHERE user_id = u.id),
        'audit', coalesce((
            SELECT jsonb_agg(raisin_entry(a) ORDER BY a.id DESC)
            FROM (SELECT * FROM raisin_audit
                  WHERE target = 'user ' || u.username
                     OR details ->> 'username' = u.username
                  ORDER BY id DESC LIMIT 50) a), '[]'));
END
$$;
