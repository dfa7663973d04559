-- One step of a Raisin request.  kind names the page or the action; args
-- holds the route's parameters ("name", "id"), the query's or the form's
-- fields, "_csrf" and "path" (the request's path, to come back after
-- signing in).  Signed out: 401 with the sign-in page as "location"; not a
-- moderator: 403.  Actions check the CSRF token and the reason first.
CREATE OR REPLACE FUNCTION raisin_request(kind text, token text, args jsonb)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    me      jsonb := site_session(token);
    res     jsonb;
    reason  text;
BEGIN
    IF me IS NULL THEN
        RETURN site_status(401, jsonb_build_object(
            'message', 'Sign in to use Raisin.',
            'location', '/sign-in?next='
                        || site_urlencode(CASE
                               WHEN args ->> 'path' ~ '^/raisin/[A-Za-z0-9/_-]*$'
                               THEN args ->> 'path'
                               ELSE '/raisin/' END),
            'me', NULL))::text;
    END IF;

    IF me ->> 'role' NOT IN ('moderator', 'admin') THEN
        RETURN (raisin_fail(403, 'Raisin is for moderators.')
                || jsonb_build_object('me', me))::text;
    END IF;

    IF kind LIKE 'post:%' THEN
        IF NOT coalesce(sha256(convert_to(args ->> '_csrf', 'UTF8'))
                        = sha256(convert_to(me ->> 'csrf', 'UTF8')), false)
        THEN
            RETURN (raisin_fail(403, 'The form has expired or did not come '
                                     'from this site. Go back, reload the '
                                     'page and try again.')
                    || jsonb_build_object('me', me))::text;
        END IF;

        reason := raisin_trim(coalesce(args ->> 'reason', ''));

        IF reason = '' THEN
            res := raisin_fail(422, 'Give a reason.', 'reason');
        ELSIF length(reason) > 500 THEN
            res := raisin_fail(422, 'A reason has at most 500 characters.',
                               'reason');
        END IF;
    END IF;

    IF res IS NOT NULL THEN
        -- a failed check of the reason: no action runs

    ELSE
        CASE kind

        WHEN 'index' THEN
            res := raisin_index();

        WHEN 'channel' THEN
            res := raisin_channel(args);

        WHEN 'mutes' THEN
            res := raisin_mutes_page();

        WHEN 'users' THEN
            res := raisin_users(args);

        WHEN 'user' THEN
            res := raisin_user(args ->> 'name', me);

        WHEN 'audit' THEN
            res := raisin_audit_page(args);

        WHEN 'post:hide' THEN
            res := raisin_hide(me, args, reason, true);

        WHEN 'post:unhide' THEN
            res := raisin_hide(me, args, reason, false);

        WHEN 'post:mute' THEN
            res := raisin_mute(me, args, reason);

        WHEN 'post:lift' THEN
            res := raisin_lift(me, args, reason);

        WHEN 'post:suspend' THEN
            res := raisin_account(me, args, reason, 'user.suspend');

        WHEN 'post:unsuspend' THEN
            res := raisin_account(me, args, reason, 'user.unsuspend');

        WHEN 'post:role' THEN
            res := raisin_account(me, args, reason, 'user.role');

        WHEN 'post:remove_character' THEN
            res := raisin_remove_character(me, args, reason);

        ELSE
            res := raisin_fail(404, 'There is no such page.');
        END CASE;
    END IF;

    IF NOT res ? 'status' THEN
        res := res || '{"status": 200}';
    END IF;

    -- a failed action's page offers the way back to its form; the mutes
    -- page's own form comes again, filled in, with the problem beside
    -- the field
    IF kind LIKE 'post:%' AND res ->> 'status' <> '303' THEN
        res := res || jsonb_build_object(
            'back', raisin_back(args ->> 'back', '/raisin/'));

        IF kind = 'post:mute' AND res ->> 'status' = '422' THEN
            res := raisin_mutes_page() || res || jsonb_build_object(
                'form', jsonb_build_object(
                    'sender', left(args ->> 'sender', 201),
                    'duration', left(args ->> 'duration', 10),
                    'reason', left(args ->> 'reason', 500)));
        END IF;
    END IF;

    RETURN (res || jsonb_build_object('me', me))::text;
END
$$;
