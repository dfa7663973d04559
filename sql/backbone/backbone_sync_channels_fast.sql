-- The fast path for channels.
CREATE OR REPLACE FUNCTION backbone_sync_channels_fast(payload jsonb)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    recs    jsonb[];
    logged  timestamptz[];
BEGIN
    SELECT * INTO recs, logged FROM backbone_sync_records('channels',
                                                          payload);

    IF recs IS NULL THEN
        RETURN false;
    END IF;

    IF NOT (
        SELECT coalesce(bool_and(
                   jsonb_typeof(r) = 'object'
                   AND backbone_ok_int(r -> 'id', true)
                   AND backbone_ok_need(r -> 'name', 'string')
                   AND backbone_ok_opt(r -> 'description', 'string')
                   AND backbone_ok_opt(r -> 'hidden', 'boolean')), true)
               AND count(DISTINCT r ->> 'id') = count(*)
        FROM unnest(recs) AS r)
    THEN
        RETURN false;
    END IF;

    INSERT INTO channels AS c (remote_id, name, description, hidden,
                               remote_logged_at)
    SELECT (r ->> 'id')::bigint, r ->> 'name', r ->> 'description',
           coalesce((r ->> 'hidden')::boolean, false), l
    FROM unnest(recs, logged) AS u(r, l)
    ON CONFLICT (remote_id) DO UPDATE
        SET name = excluded.name, description = excluded.description,
            hidden = excluded.hidden,
            remote_logged_at = excluded.remote_logged_at,
            updated_at = now()
        WHERE (c.remote_logged_at IS NULL OR excluded.remote_logged_at IS NULL
               OR c.remote_logged_at <= excluded.remote_logged_at)
          AND (c.name, c.description, c.hidden, c.remote_logged_at)
              IS DISTINCT FROM (excluded.name, excluded.description,
                                excluded.hidden, excluded.remote_logged_at);

    RETURN true;
END
$$;
