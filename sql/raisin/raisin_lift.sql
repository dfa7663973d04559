-- lift a mute
-- An action: returns the redirect back with {"done": {"ok": true,
-- "audit": …}}, or a failure that changed nothing.
CREATE OR REPLACE FUNCTION raisin_lift(me jsonb, args jsonb, reason text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    mid    bigint := raisin_id(args ->> 'id');
    m      raisin_mutes;
    entry  jsonb;
BEGIN
    UPDATE raisin_mutes SET lifted_at = now()
    WHERE id = mid AND lifted_at IS NULL AND until > now()
    RETURNING * INTO m;

    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM raisin_mutes WHERE id = mid) THEN
            RETURN raisin_fail(409, 'This mute is already over.');
        END IF;

        RETURN raisin_fail(404, 'There is no such mute.');
    END IF;

    entry := raisin_audit_add(
        me, 'mute.lift', 'mute ' || m.id, reason,
        jsonb_build_object('mute', m.id, 'player', m.player,
                           'game', m.game, 'until', raisin_iso(m.until)));

    RETURN site_redirect(raisin_back(args ->> 'back', '/raisin/mutes'),
                         jsonb_build_object('done', jsonb_build_object(
                             'ok', true, 'audit', entry)));
END
$$;
