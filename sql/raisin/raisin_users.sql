-- accounts, 100 at most: the newest, or those whose username or email
-- address holds q
CREATE OR REPLACE FUNCTION raisin_users(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    q    text := raisin_param(args, 'q', 254);
    err  jsonb := raisin_too_long(args, 'q', 254);
BEGIN
    IF err IS NOT NULL THEN
        RETURN err;
    END IF;

    RETURN jsonb_build_object(
        'q', q,
        'users', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'username', u.username, 'email', u.email,
                       'role', u.role,
                       'suspended', u.suspended_at IS NOT NULL,
                       'since', site_time(u.inserted_at),
                       'characters', (SELECT count(*) FROM characters c
                                      WHERE c.user_id = u.id))
                       ORDER BY lower(u.username))
            FROM (SELECT * FROM users
                  WHERE q IS NULL
                     OR strpos(lower(username), lower(q)) > 0
                     OR strpos(lower(email), lower(q)) > 0
                  ORDER BY CASE WHEN q IS NULL THEN inserted_at END DESC,
                           lower(username)
                  LIMIT 100) u), '[]'));
END
$$;
