CREATE OR REPLACE FUNCTION backbone_event(rec jsonb, action text,
                                          logged timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    rid bigint := backbone_int(backbone_need(rec, 'id', 'number'), 'id');
BEGIN
    IF action = 'delete' THEN
        UPDATE events SET is_deleted = true, remote_logged_at = logged,
                          updated_at = now()
        WHERE remote_id = rid AND NOT is_deleted
          AND (remote_logged_at IS NULL OR logged IS NULL
               OR remote_logged_at <= logged);
        RETURN;
    END IF;

    INSERT INTO events AS e (remote_id, game_id, title, description,
                             start_date, end_date, remote_logged_at)
    VALUES (rid,
            backbone_game_id(backbone_int(backbone_need(rec, 'game_id',
                                                        'number'),
                                          'game_id')),
            backbone_need(rec, 'title', 'string') #>> '{}',
            backbone_opt(rec, 'description', 'string') #>> '{}',
            left(backbone_opt(rec, 'start_date', 'string') #>> '{}', 10)::date,
            left(backbone_opt(rec, 'end_date', 'string') #>> '{}', 10)::date,
            logged)
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
END
$$;
