-- The records of one sync event of KIND, both shapes, in order: NULL when
-- the event holds anything the fast path leaves to the per-record loop
-- (then nothing was written).  Raises on a bad logged_at (the caller
-- treats that as "not taken").
CREATE OR REPLACE FUNCTION backbone_sync_records(kind text, payload jsonb,
                                                 OUT recs jsonb[],
                                                 OUT logged timestamptz[])
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF jsonb_typeof(payload) = 'object'
       AND jsonb_typeof(payload -> kind) = 'array'
    THEN
        recs := ARRAY(SELECT r FROM jsonb_array_elements(payload -> kind) r);
        logged := array_fill(NULL::timestamptz, ARRAY[cardinality(recs)]);

    ELSIF jsonb_typeof(payload) = 'array' THEN
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(payload) v
                   WHERE jsonb_typeof(v) <> 'object'
                      OR coalesce(v ->> 'action', 'upsert')
                         NOT IN ('create', 'update', 'upsert'))
        THEN
            RETURN;
        END IF;

        SELECT array_agg(v -> 'payload' ORDER BY o),
               array_agg(CASE WHEN jsonb_typeof(v -> 'logged_at') = 'string'
                              THEN (v ->> 'logged_at')::timestamptz END
                         ORDER BY o)
        INTO recs, logged
        FROM jsonb_array_elements(payload) WITH ORDINALITY AS x(v, o);
    END IF;
END
$$;
