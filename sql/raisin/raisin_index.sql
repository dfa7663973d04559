-- Raisin's home: every channel, hidden ones too, with its messages and
-- hidden messages counted; the active mutes; the latest audit rows
CREATE OR REPLACE FUNCTION raisin_index(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'channels', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'name', c.name, 'description', c.description,
                       'hidden', c.hidden,
                       'path', '/raisin/channels/' || site_urlencode(c.name),
                       'messages', (SELECT count(*) FROM channel_messages m
                                    WHERE m.channel_id = c.id),
                       'hidden_messages', (SELECT count(*)
                                           FROM channel_messages m
                                           WHERE m.channel_id = c.id
                                             AND m.hidden))
                       ORDER BY lower(c.name))
            FROM channels c), '[]'),
        'mutes', coalesce((
            SELECT jsonb_agg(raisin_mute_entry(m) ORDER BY m.until)
            FROM raisin_mutes m
            WHERE m.lifted_at IS NULL AND m.until > now()), '[]'),
        'audit', coalesce((
            SELECT jsonb_agg(raisin_entry(a) ORDER BY a.id DESC)
            FROM (SELECT * FROM raisin_audit ORDER BY id DESC LIMIT 10) a),
            '[]'))
$$;
