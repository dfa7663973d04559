-- lift a mute; args: id, reason, back
-- An action: returns the redirect back with {"done": {"ok": true,
-- "audit": …}}, or a refusal that changed nothing.
CREATE OR REPLACE FUNCTION raisin_lift(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    mid     bigint := raisin_id(args ->> 'id');
    m       raisin_mutes;
    entry   jsonb;
    reason  text := raisin_trim(args ->> 'reason');
    refusal jsonb := raisin_check_reason(args);
BEGIN
    IF refusal IS NOT NULL THEN
        RETURN refusal;
    END IF;

    UPDATE raisin_mutes SET lifted_at = now()
    WHERE id = mid AND lifted_at IS NULL AND until > now()
    RETURNING * INTO m;

    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM raisin_mutes WHERE id = mid) THEN
            RETURN raisin_refuse(args, 409, 'mute_over');
        END IF;

        RETURN raisin_refuse(args, 404, 'no_mute');
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
