-- suspend, unsuspend, role: an account by name
-- An action: returns the redirect back with {"done": {"ok": true,
-- "audit": …}}, or a failure that changed nothing.
CREATE OR REPLACE FUNCTION raisin_account(me jsonb, args jsonb,
                                          reason text, action text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    u        users;
    n        integer;
    details  jsonb;
    entry    jsonb;
BEGIN
    SELECT * INTO u FROM users
    WHERE lower(username) = lower(args ->> 'name')
    FOR UPDATE;

    IF NOT FOUND THEN
        RETURN raisin_fail(404, 'There is no such account.');
    END IF;

    IF action = 'user.role' THEN
        IF me ->> 'role' <> 'admin' THEN
            RETURN raisin_fail(403, 'Only admins change roles.');
        END IF;

        IF u.id = (me ->> 'id')::bigint THEN
            RETURN raisin_fail(409, 'Admins cannot change their own '
                                    'role.');
        END IF;

        IF coalesce(args ->> 'role', '') NOT IN ('user', 'moderator',
                                                 'admin')
        THEN
            RETURN raisin_fail(422, 'A role is user, moderator or admin.',
                               'role');
        END IF;

        IF u.role = args ->> 'role' THEN
            RETURN raisin_fail(409, u.username || ' is already '
                                    || CASE u.role WHEN 'user' THEN 'a '
                                       ELSE 'an ' END
                                    || u.role || '.');
        END IF;

        UPDATE users SET role = args ->> 'role', updated_at = now()
        WHERE id = u.id;

        details := jsonb_build_object('username', u.username,
                                      'from', u.role,
                                      'to', args ->> 'role');

    ELSE
        IF u.id = (me ->> 'id')::bigint THEN
            RETURN raisin_fail(409, 'You cannot suspend or restore your '
                                    'own account.');
        END IF;

        IF u.role <> 'user' AND me ->> 'role' <> 'admin' THEN
            RETURN raisin_fail(403, 'Only admins suspend or restore '
                                    'moderators and admins.');
        END IF;

        IF action = 'user.suspend' THEN
            IF u.suspended_at IS NOT NULL THEN
                RETURN raisin_fail(409, 'This account is already '
                                        'suspended.');
            END IF;

            UPDATE users SET suspended_at = now(), updated_at = now()
            WHERE id = u.id;

            DELETE FROM sessions WHERE user_id = u.id;
            GET DIAGNOSTICS n = ROW_COUNT;

            details := jsonb_build_object('username', u.username,
                                          'sessions_ended', n);

        ELSE
            IF u.suspended_at IS NULL THEN
                RETURN raisin_fail(409, 'This account is not suspended.');
            END IF;

            UPDATE users SET suspended_at = NULL, updated_at = now()
            WHERE id = u.id;

            details := jsonb_build_object(
                'username', u.username,
                'suspended_at', raisin_iso(u.suspended_at));
        END IF;
    END IF;

    entry := raisin_audit_add(me, action, 'user ' || u.username, reason,
                              details);

    RETURN site_redirect(raisin_back(args ->> 'back',
                                     '/raisin/users/' || u.username),
                         jsonb_build_object('done', jsonb_build_object(
                             'ok', true, 'audit', entry)));
END
$$;
