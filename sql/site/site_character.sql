-- A character of the signed-in player: approve or deny a pending one, or
-- remove any.  args: id, action (approve, deny or remove).
CREATE OR REPLACE FUNCTION site_character(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    cid  bigint := CASE WHEN args ->> 'id' ~ '^[0-9]{1,18}$'
                        THEN (args ->> 'id')::bigint END;
    n    integer;
BEGIN
    IF args ->> 'action' = 'remove' THEN
        DELETE FROM characters
        WHERE id = cid AND user_id = (me ->> 'id')::bigint;
    ELSE
        UPDATE characters
        SET state = CASE args ->> 'action' WHEN 'approve' THEN 'approved'
                                           ELSE 'denied' END,
            updated_at = now()
        WHERE id = cid AND user_id = (me ->> 'id')::bigint
          AND state = 'pending';
    END IF;

    GET DIAGNOSTICS n = ROW_COUNT;

    IF n > 0 THEN
        RETURN site_redirect('/manage/characters');
    END IF;

    IF EXISTS (SELECT 1 FROM characters
               WHERE id = cid AND user_id = (me ->> 'id')::bigint)
    THEN
        RETURN site_status(409, '{"error": "not_pending"}');
    END IF;

    RETURN site_status(404);
END
$$;
