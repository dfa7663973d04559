-- remove a player's character; args: id, reason, back
-- An action: returns the redirect back with {"done": {"ok": true,
-- "audit": …}}, or a refusal that changed nothing.
CREATE OR REPLACE FUNCTION raisin_remove_character(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    cid     bigint := raisin_id(args ->> 'id');
    c       record;
    entry   jsonb;
    reason  text := raisin_trim(args ->> 'reason');
    refusal jsonb := raisin_check_reason(args);
BEGIN
    IF refusal IS NOT NULL THEN
        RETURN refusal;
    END IF;

    DELETE FROM characters ch
    USING games g, users u
    WHERE ch.id = cid AND g.id = ch.game_id AND u.id = ch.user_id
    RETURNING ch.id, ch.name, ch.state, g.short_name AS game, u.username
    INTO c;

    IF NOT FOUND THEN
        RETURN raisin_refuse(args, 404, 'no_character');
    END IF;

    entry := raisin_audit_add(
        me, 'character.remove', 'character ' || c.name || '@' || c.game,
        reason, jsonb_build_object('character', c.id, 'name', c.name,
                                   'game', c.game, 'state', c.state,
                                   'username', c.username));

    RETURN site_redirect(raisin_back(args ->> 'back',
                                     '/raisin/users/' || c.username),
                         jsonb_build_object('done', jsonb_build_object(
                             'ok', true, 'audit', entry)));
END
$$;
