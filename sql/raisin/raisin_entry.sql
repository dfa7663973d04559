CREATE OR REPLACE FUNCTION raisin_entry(a raisin_audit) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', a.id, 'at', raisin_iso(a.at),
                              'when', site_time(a.at), 'actor', a.actor,
                              'action', a.action, 'target', a.target,
                              'reason', a.reason, 'details', a.details,
                              'summary', raisin_summary(a))
$$;
