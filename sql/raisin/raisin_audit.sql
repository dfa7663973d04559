-- the audit log, newest first, 50 a page; args: before, action, actor
CREATE OR REPLACE FUNCTION raisin_audit(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    before_id  bigint;
    f_action   text := raisin_param(args, 'action', 100);
    f_actor    text := raisin_param(args, 'actor', 100);
    err        jsonb;
    per_page   constant integer := 50;
    entries    jsonb;
    oldest     bigint;
    n          integer;
BEGIN
    IF args ->> 'before' IS NOT NULL AND args ->> 'before' <> '' THEN
        before_id := raisin_id(args ->> 'before');

        IF before_id IS NULL THEN
            RETURN raisin_fail(400, 'before_audit');
        END IF;
    END IF;

    err := coalesce(raisin_too_long(args, 'action', 100),
                    raisin_too_long(args, 'actor', 100));

    IF err IS NOT NULL THEN
        RETURN err;
    END IF;

    SELECT coalesce(jsonb_agg(raisin_entry(a) ORDER BY a.id DESC), '[]'),
           min(a.id), count(*)
    INTO entries, oldest, n
    FROM (SELECT * FROM raisin_audit ra
          WHERE (before_id IS NULL OR ra.id < before_id)
            AND (f_action IS NULL
                 OR ra.action = f_action)
            AND (f_actor IS NULL
                 OR lower(ra.actor) = lower(f_actor))
          ORDER BY ra.id DESC LIMIT per_page) a;

    RETURN jsonb_build_object(
        'filter', jsonb_build_object('action', f_action, 'actor', f_actor),
        'entries', entries,
        'older', CASE WHEN n = per_page AND EXISTS (
                          SELECT 1 FROM raisin_audit ra
                          WHERE ra.id < oldest
                            AND (f_action IS NULL
                                 OR ra.action = f_action)
                            AND (f_actor IS NULL
                                 OR lower(ra.actor)
                                    = lower(f_actor)))
                      THEN '/raisin/audit?before=' || oldest
                           || CASE WHEN f_action IS NULL THEN ''
                                   ELSE '&action='
                                        || site_urlencode(f_action) END
                           || CASE WHEN f_actor IS NULL THEN ''
                                   ELSE '&actor='
                                        || site_urlencode(f_actor) END END);
END
$$;
