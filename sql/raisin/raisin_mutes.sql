-- the mutes, active first (200 at most)
CREATE OR REPLACE FUNCTION raisin_mutes(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'mutes', coalesce((
            SELECT jsonb_agg(raisin_mute_entry(m)
                             ORDER BY m.lifted_at IS NULL
                                      AND m.until > now() DESC, m.id DESC)
            FROM (SELECT * FROM raisin_mutes
                  ORDER BY lifted_at IS NULL AND until > now() DESC, id DESC
                  LIMIT 200) m), '[]'))
$$;
