-- suspend, unsuspend, role: an account by name; args: name, action
-- (user.suspend, user.unsuspend or user.role), role, reason, back
-- An action: returns the redirect back with {"done": {"ok": true,
-- "audit": …}}, or a refusal that changed nothing.
CREATE OR REPLACE FUNCTION raisin_account(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    action   text := args ->> 'action';
    u        users;
    n        integer;
    details  jsonb;
    entry    jsonb;
    reason   text := raisin_trim(args ->> 'reason');
    refusal  jsonb := raisin_check_reason(args);
BEGIN
    IF refusal IS NOT NULL THEN
        RETURN refusal;
    END IF;

    SELECT * INTO u FROM users
    WHERE lower(username) = lower(args ->> 'name')
    FOR UPDATE;

    IF NOT FOUND THEN
        RETURN raisin_refuse(args, 404, 'no_account');
    END IF;

    IF action = 'user.role' THEN
        IF me ->> 'role' <> 'admin' THEN
            RETURN raisin_refuse(args, 403, 'admins_change_roles');
        END IF;

        IF u.id = (me ->> 'id')::bigint THEN
            RETURN raisin_refuse(args, 409, 'own_role');
        END IF;

        IF coalesce(args ->> 'role', '') NOT IN ('user', 'moderator',
                                                 'admin')
        THEN
            RETURN raisin_refuse(args, 422, 'role_invalid', 'role');
        END IF;

        IF u.role = args ->> 'role' THEN
            RETURN raisin_refuse(args, 409, 'role_unchanged', NULL,
                                 jsonb_build_object(
                                     'username', u.username,
                                     'is', jsonb_build_object(u.role, true)));
        END IF;

        UPDATE users SET role = args ->> 'role', updated_at = now()
        WHERE id = u.id;

        details := jsonb_build_object('username', u.username,
                                      'from', u.role,
                                      'to', args ->> 'role');

    ELSE
        IF u.id = (me ->> 'id')::bigint THEN
            RETURN raisin_refuse(args, 409, 'own_account');
        END IF;

        IF u.role <> 'user' AND me ->> 'role' <> 'admin' THEN
            RETURN raisin_refuse(args, 403, 'admins_suspend_staff');
        END IF;

        IF action = 'user.suspend' THEN
            IF u.suspended_at IS NOT NULL THEN
                RETURN raisin_refuse(args, 409, 'suspended_already');
            END IF;

            UPDATE users SET suspended_at = now(), updated_at = now()
            WHERE id = u.id;

            DELETE FROM sessions WHERE user_id = u.id;
            GET DIAGNOSTICS n = ROW_COUNT;

            details := jsonb_build_object('username', u.username,
                                          'sessions_ended', n);

        ELSE
            IF u.suspended_at IS NULL THEN
                RETURN raisin_refuse(args, 409, 'not_suspended');
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
