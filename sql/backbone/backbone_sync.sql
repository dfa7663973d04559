-- One sync event (sync/channels, sync/games, sync/events,
-- sync/achievements, either shape), in its own transaction: the module's
-- one call for it.  recs holds the records the protocol parser found
-- valid, as ngx_grapevine_proto_records_json() writes them
-- (src/backbone/ngx_grapevine_protocol_records.c): a JSON array of
-- objects with each record's fields by their protocol names, its version's
-- "logged_at" and "deleted": true for a delete.  Their shape is not checked
-- again: the parser is the one place that decides whether a record is
-- valid, and has named the ones it skipped.  What only the database can
-- tell is decided here: a version older than the stored one changes
-- nothing, an event or an achievement of a game not stored is skipped, a
-- short name or a channel name another record has is refused.
--
-- The records go in as one set (backbone_sync_set()), in a
-- subtransaction.  When that fails (a name taken) or an id comes twice,
-- they go one at a time, in order, each in a subtransaction: one that
-- fails is skipped, the others land.  Returns a line per record skipped,
-- e.g. 'event #12: game 7 is unknown'.  The newest logged_at of the
-- records stored raises the kind's high-water mark (backbone_since()).
CREATE OR REPLACE FUNCTION backbone_sync(kind text, recs jsonb)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    ids     bigint[] := '{}';    -- the records skipped
    why     text[] := '{}';      -- and why
    one     jsonb;
    newest  timestamptz;
    by_one  boolean;
BEGIN
    SELECT count(DISTINCT r.id) < count(*) INTO by_one
    FROM jsonb_to_recordset(recs) AS r(id bigint);

    IF NOT by_one THEN
        BEGIN
            SELECT coalesce(array_agg(s.skipped_id), '{}'),
                   coalesce(array_agg(s.reason), '{}')
            INTO ids, why
            FROM backbone_sync_set(kind, recs) AS s;
        EXCEPTION WHEN OTHERS THEN
            RAISE DEBUG 'backbone_sync(%): one record at a time: %', kind,
                        SQLERRM;
            by_one := true;
        END;
    END IF;

    IF by_one THEN
        ids := '{}';
        why := '{}';

        FOR one IN SELECT * FROM jsonb_array_elements(recs) LOOP
            BEGIN
                SELECT ids || coalesce(array_agg(s.skipped_id), '{}'),
                       why || coalesce(array_agg(s.reason), '{}')
                INTO ids, why
                FROM backbone_sync_set(kind, jsonb_build_array(one)) AS s;
            EXCEPTION WHEN OTHERS THEN
                ids := ids || (one ->> 'id')::bigint;
                why := why || SQLERRM;
            END;
        END LOOP;
    END IF;

    SELECT max(r.logged_at) INTO newest
    FROM jsonb_to_recordset(recs) AS r(id bigint, logged_at timestamptz)
    WHERE r.id <> ALL (ids);

    IF newest IS NOT NULL THEN
        INSERT INTO settings (name, value)
        VALUES ('hub_since:' || kind,
                to_char(newest AT TIME ZONE 'UTC',
                        'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        ON CONFLICT (name) DO UPDATE
            SET value = excluded.value, updated_at = now()
            WHERE settings.value::timestamptz < excluded.value::timestamptz;
    END IF;

    RETURN QUERY
    SELECT format('%s #%s: %s', rtrim(kind, 's'), u.id, u.why)
    FROM unnest(ids, why) AS u(id, why);
END
$$;
