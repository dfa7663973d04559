-- Achievements, upserted by their remote id; a delete is soft
-- (is_deleted), a later create or update brings the achievement back.  An
-- achievement of a game not stored is skipped (returned, with the
-- reason).  A version older than the stored one, or a record equal to it,
-- is not written.  Ids are unique in recs.
CREATE OR REPLACE FUNCTION backbone_sync_achievements(recs jsonb)
RETURNS TABLE (skipped_id bigint, reason text) LANGUAGE plpgsql AS $$
BEGIN
    UPDATE achievements AS a
    SET is_deleted = true, remote_logged_at = r.logged_at, updated_at = now()
    FROM jsonb_to_recordset(recs)
         AS r(id bigint, logged_at timestamptz, deleted boolean)
    WHERE r.deleted AND a.remote_id = r.id AND NOT a.is_deleted
      AND (a.remote_logged_at IS NULL OR r.logged_at IS NULL
           OR a.remote_logged_at <= r.logged_at);

    INSERT INTO achievements AS a (remote_id, game_id, key, title,
                                   description, display, points,
                                   partial_progress, total_progress,
                                   remote_logged_at)
    SELECT r.id, g.id, r.key, r.title, r.description,
           coalesce(r.display, true), coalesce(r.points, 0),
           coalesce(r.partial_progress, false), r.total_progress,
           r.logged_at
    FROM jsonb_to_recordset(recs)
         AS r(id bigint, game_id bigint, key text, title text,
              description text, display boolean, points integer,
              partial_progress boolean, total_progress integer,
              logged_at timestamptz, deleted boolean)
    CROSS JOIN LATERAL (
        SELECT id FROM games WHERE remote_id = r.game_id OFFSET 0) AS g
    WHERE NOT coalesce(r.deleted, false)
    ON CONFLICT (remote_id) DO UPDATE
        SET game_id = excluded.game_id, key = excluded.key,
            title = excluded.title, description = excluded.description,
            display = excluded.display, points = excluded.points,
            partial_progress = excluded.partial_progress,
            total_progress = excluded.total_progress, is_deleted = false,
            remote_logged_at = excluded.remote_logged_at, updated_at = now()
        WHERE (a.remote_logged_at IS NULL OR excluded.remote_logged_at IS NULL
               OR a.remote_logged_at <= excluded.remote_logged_at)
          AND (a.game_id, a.key, a.title, a.description, a.display, a.points,
               a.partial_progress, a.total_progress, a.is_deleted,
               a.remote_logged_at)
              IS DISTINCT FROM
              (excluded.game_id, excluded.key, excluded.title,
               excluded.description, excluded.display, excluded.points,
               excluded.partial_progress, excluded.total_progress, false,
               excluded.remote_logged_at);

    RETURN QUERY
    SELECT r.id, format('game %s is unknown', r.game_id)
    FROM jsonb_to_recordset(recs)
         AS r(id bigint, game_id bigint, deleted boolean)
    WHERE NOT coalesce(r.deleted, false)
      AND NOT EXISTS (SELECT 1 FROM games g WHERE g.remote_id = r.game_id);
END
$$;
