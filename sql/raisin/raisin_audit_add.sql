-- the one way an audit row is written; returns it as an entry
CREATE OR REPLACE FUNCTION raisin_audit_add(me jsonb, action text,
                                            target text, reason text,
                                            details jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    a  raisin_audit;
BEGIN
    INSERT INTO raisin_audit (actor_id, actor, action, target, reason,
                              details)
    VALUES ((me ->> 'id')::bigint, coalesce(me ->> 'username',
                                            'command line'),
            action, target, reason, coalesce(details, '{}'))
    RETURNING * INTO a;

    RETURN raisin_entry(a);
END
$$;
