-- accounts, 100 at most: the newest (along users_inserted_idx), or those
-- whose username or email address holds q, by username (found by their
-- trigram indexes, planned for that q: EXECUTE)
CREATE OR REPLACE FUNCTION raisin_users(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    q    text := raisin_param(args, 'q', 254);
    err  jsonb := raisin_too_long(args, 'q', 254);
    ids  bigint[];
BEGIN
    IF err IS NOT NULL THEN
        RETURN err;
    END IF;

    IF q IS NULL THEN
        SELECT array_agg(id) INTO ids
        FROM (SELECT id FROM users
              ORDER BY inserted_at DESC, id DESC LIMIT 100) AS u;
    ELSE
        EXECUTE 'SELECT array_agg(id) FROM (
                     SELECT id FROM users
                     WHERE lower(username) LIKE $1 OR lower(email) LIKE $1
                     ORDER BY lower(username) LIMIT 100) AS u'
        INTO ids USING site_like(lower(q));
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
            FROM users u WHERE u.id = ANY (ids)), '[]'));
END
$$;
