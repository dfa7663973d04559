-- hide a message, or (hide false) show it again
-- An action: returns the redirect back with {"done": {"ok": true,
-- "audit": …}}, or a failure that changed nothing.
CREATE OR REPLACE FUNCTION raisin_hide(me jsonb, args jsonb, reason text,
                                       hide boolean)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    mid    bigint := raisin_id(args ->> 'id');
    m      channel_messages;
    entry  jsonb;
BEGIN
    UPDATE channel_messages SET hidden = hide
    WHERE id = mid AND hidden <> hide
    RETURNING * INTO m;

    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM channel_messages WHERE id = mid) THEN
            RETURN raisin_fail(409, CASE WHEN hide
                                         THEN 'This message is already hidden.'
                                         ELSE 'This message is not hidden.'
                                    END);
        END IF;

        RETURN raisin_fail(404, 'There is no such message.');
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
