-- hide a message, or (args.hide "no") show it again; args: id, reason,
-- back
-- An action: returns the redirect back with {"done": {"ok": true,
-- "audit": …}}, or a refusal that changed nothing.
CREATE OR REPLACE FUNCTION raisin_hide(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    mid     bigint := raisin_id(args ->> 'id');
    hide    boolean := args ->> 'hide' = 'yes';
    m       channel_messages;
    entry   jsonb;
    reason  text := raisin_trim(args ->> 'reason');
    refusal jsonb := raisin_check_reason(args);
BEGIN
    IF refusal IS NOT NULL THEN
        RETURN refusal;
    END IF;

    UPDATE channel_messages SET hidden = hide
    WHERE id = mid AND hidden <> hide
    RETURNING * INTO m;

    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM channel_messages WHERE id = mid) THEN
            RETURN raisin_refuse(args, 409, CASE WHEN hide
                                                 THEN 'already_hidden'
                                                 ELSE 'not_hidden' END);
        END IF;

        RETURN raisin_refuse(args, 404, 'no_message');
    END IF;

    entry := raisin_audit_add(
        me, CASE WHEN hide THEN 'message.hide' ELSE 'message.unhide' END,
        'message ' || m.id, reason,
        jsonb_build_object('channel', m.channel_name, 'game', m.game_name,
                           'player', m.player_name, 'message', m.message,
                           'muted', m.mute_id IS NOT NULL));

    RETURN site_redirect(raisin_back(args ->> 'back',
                                     '/raisin/channels/'
                                     || site_urlencode(m.channel_name)),
                         jsonb_build_object('done', jsonb_build_object(
                             'ok', true, 'audit', entry)));
END
$$;
