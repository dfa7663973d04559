CREATE OR REPLACE FUNCTION raisin_mutes_page() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'title', 'Mutes · Raisin',
        'nav_raisin', true,
        'raisin_mutes', true,
        'mutes', coalesce((
            SELECT jsonb_agg(raisin_mute_entry(m)
                             ORDER BY m.lifted_at IS NULL
                                      AND m.until > now() DESC, m.id DESC)
            FROM (SELECT * FROM raisin_mutes
                  ORDER BY lifted_at IS NULL AND until > now() DESC, id DESC
                  LIMIT 200) m), '[]'))
$$;
