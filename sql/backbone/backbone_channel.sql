CREATE OR REPLACE FUNCTION backbone_channel(rec jsonb, logged timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO channels AS c (remote_id, name, description, hidden,
                               remote_logged_at)
    VALUES (backbone_int(backbone_need(rec, 'id', 'number'), 'id'),
            backbone_need(rec, 'name', 'string') #>> '{}',
            backbone_opt(rec, 'description', 'string') #>> '{}',
            coalesce((backbone_opt(rec, 'hidden', 'boolean'))::boolean,
                     false),
            logged)
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
END
$$;
