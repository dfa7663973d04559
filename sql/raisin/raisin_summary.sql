-- what an audit row's details say, in a line for the pages
CREATE OR REPLACE FUNCTION raisin_summary(a raisin_audit) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN a.action IN ('message.hide', 'message.unhide') THEN
            (a.details ->> 'player') || '@' || (a.details ->> 'game')
            || ' on #' || (a.details ->> 'channel') || ': '
            || site_excerpt(a.details ->> 'message', 200)
        WHEN a.action IN ('sender.mute', 'mute.lift') THEN
            'until ' || to_char((a.details ->> 'until')::timestamptz
                                AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')
        WHEN a.action = 'user.role' THEN
            (a.details ->> 'from') || ' → ' || (a.details ->> 'to')
        WHEN a.action = 'user.suspend' THEN
            (a.details ->> 'sessions_ended') || ' session(s) ended'
        WHEN a.action = 'character.remove' THEN
            (a.details ->> 'state') || ', registered by '
            || (a.details ->> 'username')
    END
$$;
