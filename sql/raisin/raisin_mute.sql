-- mute a sender for a while: their new messages are stored hidden; args:
-- sender (name@game), duration, reason, back
-- An action: returns the redirect back with {"done": {"ok": true,
-- "audit": …}}, or a refusal that changed nothing: one of its form comes
-- with the mutes page and the form filled in.
CREATE OR REPLACE FUNCTION raisin_mute(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    parts   text[];
    d       interval;
    m       raisin_mutes;
    entry   jsonb;
    reason  text := raisin_trim(args ->> 'reason');
    refusal jsonb := raisin_check_reason(args);
BEGIN
    parts := regexp_match(raisin_trim(coalesce(args ->> 'sender', '')),
                          '^([^@[:cntrl:][:space:]]{1,100})'
                          '@([^@[:cntrl:][:space:]]{1,100})$');
    d := raisin_duration(args ->> 'duration');

    IF refusal IS NULL AND parts IS NULL THEN
        refusal := raisin_refuse(args, 422, 'sender_invalid', 'sender');

    ELSIF refusal IS NULL AND d IS NULL THEN
        refusal := raisin_refuse(args, 422, 'duration_invalid', 'duration');
    END IF;

    IF refusal IS NOT NULL THEN
        RETURN raisin_mutes(me, args) || refusal || jsonb_build_object(
            'form', jsonb_build_object(
                'sender', left(args ->> 'sender', 201),
                'duration', left(args ->> 'duration', 10),
                'reason', left(args ->> 'reason', 500)));
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
