-- mute a sender for a while: their new messages are stored hidden
-- An action: returns the redirect back with {"done": {"ok": true,
-- "audit": …}}, or a failure that changed nothing.
CREATE OR REPLACE FUNCTION raisin_mute(me jsonb, args jsonb, reason text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    parts  text[];
    d      interval;
    m      raisin_mutes;
    entry  jsonb;
BEGIN
    parts := regexp_match(raisin_trim(coalesce(args ->> 'sender', '')),
                          '^([^@[:cntrl:][:space:]]{1,100})'
                          '@([^@[:cntrl:][:space:]]{1,100})$');

    IF parts IS NULL THEN
        RETURN raisin_fail(422, 'A sender is written name@game.',
                           'sender');
    END IF;

    d := raisin_duration(args ->> 'duration');

    IF d IS NULL THEN
        RETURN raisin_fail(422, 'A duration is a number of minutes, hours '
                                'or days, such as 30m, 2h or 7d, from 1m '
                                'to 365d.', 'duration');
    END IF;

    INSERT INTO raisin_mutes (player, game, until, reason, created_by,
                              created_by_name)
    VALUES (parts[1], parts[2], now() + d, reason, (me ->> 'id')::bigint,
            me ->> 'username')
    RETURNING * INTO m;

    entry := raisin_audit_add(
        me, 'sender.mute', m.player || '@' || m.game, reason,
        jsonb_build_object('mute', m.id, 'player', m.player,
                           'game', m.game, 'until', raisin_iso(m.until),
                           'duration', raisin_trim(args ->> 'duration')));

    RETURN site_redirect(raisin_back(args ->> 'back', '/raisin/mutes'),
                         jsonb_build_object('done', jsonb_build_object(
                             'ok', true, 'audit', entry,
                             'mute', raisin_mute_entry(m))));
END
$$;
