-- Channels, upserted by their remote id; a delete changes nothing (the
-- hub never deleted channels).  A version older than the stored one, or a
-- record equal to it, is not written.  Ids are unique in recs.
CREATE OR REPLACE FUNCTION backbone_sync_channels(recs jsonb)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO channels AS c (remote_id, name, description, hidden,
                               remote_logged_at)
    SELECT r.id, r.name, r.description, coalesce(r.hidden, false),
           r.logged_at
    FROM jsonb_to_recordset(recs)
         AS r(id bigint, name text, description text, hidden boolean,
              logged_at timestamptz, deleted boolean)
    WHERE NOT coalesce(r.deleted, false)
    ON CONFLICT (remote_id) DO UPDATE
        SET name = excluded.name, description = excluded.description,
            hidden = excluded.hidden,
            remote_logged_at = excluded.remote_logged_at,
            updated_at = now()
        WHERE (c.remote_logged_at IS NULL OR excluded.remote_logged_at IS NULL
               OR c.remote_logged_at <= excluded.remote_logged_at)
          AND (c.name, c.description, c.hidden, c.remote_logged_at)
              IS DISTINCT FROM (excluded.name, excluded.description,
                                excluded.hidden, excluded.remote_logged_at)
$$;
