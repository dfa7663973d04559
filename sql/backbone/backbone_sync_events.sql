-- In-game events, upserted by their remote id; a delete is soft
-- (is_deleted), a later create or update brings the event back.  An event
-- of a game not stored is skipped (returned, with the reason).  A version
-- older than the stored one, or a record equal to it, is not written.
-- Ids are unique in recs.
CREATE OR REPLACE FUNCTION backbone_sync_events(recs jsonb)
RETURNS TABLE (skipped_id bigint, reason text) LANGUAGE plpgsql AS $$
BEGIN
    UPDATE events AS e
    SET is_deleted = true, remote_logged_at = r.logged_at, updated_at = now()
    FROM jsonb_to_recordset(recs)
         AS r(id bigint, logged_at timestamptz, deleted boolean)
    WHERE r.deleted AND e.remote_id = r.id AND NOT e.is_deleted
      AND (e.remote_logged_at IS NULL OR r.logged_at IS NULL
           OR e.remote_logged_at <= r.logged_at);

    INSERT INTO events AS e (remote_id, game_id, title, description,
                             start_date, end_date, remote_logged_at)
    SELECT r.id, g.id, r.title, r.description, r.start_date, r.end_date,
           r.logged_at
    FROM jsonb_to_recordset(recs)
         AS r(id bigint, game_id bigint, title text, description text,
              start_date date, end_date date, logged_at timestamptz,
              deleted boolean)
    CROSS JOIN LATERAL (
        SELECT id FROM games WHERE remote_id = r.game_id OFFSET 0) AS g
    WHERE NOT coalesce(r.deleted, false)
    ON CONFLICT (remote_id) DO UPDATE
        SET game_id = excluded.game_id, title = excluded.title,
            description = excluded.description,
            start_date = excluded.start_date, end_date = excluded.end_date,
            is_deleted = false, remote_logged_at = excluded.remote_logged_at,
            updated_at = now()
        WHERE (e.remote_logged_at IS NULL OR excluded.remote_logged_at IS NULL
               OR e.remote_logged_at <= excluded.remote_logged_at)
          AND (e.game_id, e.title, e.description, e.start_date, e.end_date,
               e.is_deleted, e.remote_logged_at)
              IS DISTINCT FROM
              (excluded.game_id, excluded.title, excluded.description,
               excluded.start_date, excluded.end_date, false,
               excluded.remote_logged_at);

    RETURN QUERY
    SELECT r.id, format('game %s is unknown', r.game_id)
    FROM jsonb_to_recordset(recs)
         AS r(id bigint, game_id bigint, deleted boolean)
    WHERE NOT coalesce(r.deleted, false)
      AND NOT EXISTS (SELECT 1 FROM games g WHERE g.remote_id = r.game_id);
END
$$;
