CREATE OR REPLACE FUNCTION backbone_achievement(rec jsonb, action text,
                                                logged timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    rid bigint := backbone_int(backbone_need(rec, 'id', 'number'), 'id');
BEGIN
    IF action = 'delete' THEN
        UPDATE achievements SET is_deleted = true, remote_logged_at = logged,
                                updated_at = now()
        WHERE remote_id = rid AND NOT is_deleted
          AND (remote_logged_at IS NULL OR logged IS NULL
               OR remote_logged_at <= logged);
        RETURN;
    END IF;

    INSERT INTO achievements AS a (remote_id, game_id, key, title,
                                   description, display, points,
                                   partial_progress, total_progress,
                                   remote_logged_at)
    VALUES (rid,
            backbone_game_id(backbone_int(backbone_need(rec, 'game_id',
                                                        'number'),
                                          'game_id')),
            backbone_opt(rec, 'key', 'string') #>> '{}',
            backbone_need(rec, 'title', 'string') #>> '{}',
            backbone_opt(rec, 'description', 'string') #>> '{}',
            coalesce((backbone_opt(rec, 'display', 'boolean'))::boolean,
                     true),
            coalesce(backbone_int(backbone_opt(rec, 'points', 'number'),
                                  'points'), 0),
            coalesce((backbone_opt(rec, 'partial_progress',
                                   'boolean'))::boolean, false),
            backbone_int(backbone_opt(rec, 'total_progress', 'number'),
                         'total_progress'),
            logged)
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
END
$$;
