CREATE OR REPLACE FUNCTION raisin_mute_entry(m raisin_mutes) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', m.id, 'sender', m.player || '@' || m.game,
        'player', m.player, 'game', m.game,
        'until', raisin_iso(m.until), 'until_text', site_time(m.until),
        'active', m.lifted_at IS NULL AND m.until > now(),
        'lifted', m.lifted_at IS NOT NULL,
        'lifted_at', raisin_iso(m.lifted_at),
        'reason', m.reason, 'by', m.created_by_name,
        'at', raisin_iso(m.inserted_at), 'when', site_time(m.inserted_at))
$$;
