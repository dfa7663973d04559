-- The first admin (util/make-admin): the command line's role change, with
-- its audit row.  Fails when the account does not exist.
CREATE OR REPLACE FUNCTION raisin_make_admin(name text,
                                             reason text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    u  users;
BEGIN
    SELECT * INTO u FROM users WHERE lower(username) = lower(name)
    FOR UPDATE;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'there is no account named "%"', name
            USING ERRCODE = 'no_data_found';
    END IF;

    IF u.role = 'admin' THEN
        RETURN u.username || ' is already an admin';
    END IF;

    UPDATE users SET role = 'admin', updated_at = now() WHERE id = u.id;

    PERFORM raisin_audit_add(NULL, 'user.role', 'user ' || u.username,
                             coalesce(nullif(btrim(reason), ''),
                                      'made admin on the command line'),
                             jsonb_build_object('username', u.username,
                                                'from', u.role,
                                                'to', 'admin'));

    RETURN u.username || ' is now an admin';
END
$$;
