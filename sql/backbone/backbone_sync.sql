-- One sync event, both shapes: v1 pushes {"games": [record, ...]} (and
-- channels, events, achievements); v2 sends [{action, logged_at, payload}].
-- Games and channels first try a set-based path (all records checked up
-- front, one INSERT ... SELECT for the event); anything unusual falls back
-- to the per-record loop, which skips and names each bad record.  Measured
-- by make bench (bench/README.md): about half the database time.
CREATE OR REPLACE FUNCTION backbone_sync(kind text, payload jsonb)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    versions  jsonb;
    v         jsonb;
    rec       jsonb;
    act       text;
    logged    timestamptz;
    newest    timestamptz;
    n         integer := 0;
    fast      boolean := false;
BEGIN
    IF kind IN ('games', 'channels') THEN
        BEGIN
            IF kind = 'games' THEN
                fast := backbone_sync_games_fast(payload);
            ELSE
                fast := backbone_sync_channels_fast(payload);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            -- rolled back: the loop below decides, record by record
            RAISE DEBUG 'backbone_sync(%): fast path failed: %', kind,
                        SQLERRM;
            fast := false;
        END;
    END IF;

    IF fast THEN
        IF jsonb_typeof(payload) = 'array' THEN
            SELECT max((x ->> 'logged_at')::timestamptz) INTO newest
            FROM jsonb_array_elements(payload) x
            WHERE jsonb_typeof(x -> 'logged_at') = 'string';
        END IF;

    ELSE
        RAISE DEBUG 'backbone_sync(%): record by record', kind;

        IF jsonb_typeof(payload) = 'array' THEN
            versions := payload;
        ELSIF jsonb_typeof(payload) = 'object'
              AND jsonb_typeof(payload -> kind) = 'array'
        THEN
            SELECT coalesce(jsonb_agg(jsonb_build_object('action', 'upsert',
                                                         'payload', r)), '[]')
            INTO versions
            FROM jsonb_array_elements(payload -> kind) AS r;
        ELSE
            RETURN NEXT format('sync/%s: the payload is neither a list of '
                               'versions nor {"%s": [...]}', kind, kind);
            RETURN;
        END IF;

        FOR v IN SELECT * FROM jsonb_array_elements(versions) LOOP
            n := n + 1;
            rec := NULL;

            BEGIN
                IF jsonb_typeof(v) <> 'object' THEN
                    RAISE EXCEPTION 'not an object';
                END IF;

                act := coalesce(v ->> 'action', 'upsert');
                IF act NOT IN ('create', 'update', 'delete', 'upsert') THEN
                    RAISE EXCEPTION 'unknown action "%"', act;
                END IF;

                logged := NULL;
                IF v ? 'logged_at'
                   AND jsonb_typeof(v -> 'logged_at') = 'string'
                THEN
                    logged := (v ->> 'logged_at')::timestamptz;
                END IF;

                rec := v -> 'payload';
                IF rec IS NULL OR jsonb_typeof(rec) <> 'object' THEN
                    RAISE EXCEPTION 'the record is not an object';
                END IF;

                IF kind = 'channels' THEN
                    IF act <> 'delete' THEN
                        PERFORM backbone_channel(rec, logged);
                    END IF;
                ELSIF kind = 'games' THEN
                    IF act <> 'delete' THEN
                        PERFORM backbone_game(rec, logged);
                    END IF;
                ELSIF kind = 'events' THEN
                    PERFORM backbone_event(rec, act, logged);
                ELSIF kind = 'achievements' THEN
                    PERFORM backbone_achievement(rec, act, logged);
                END IF;

                IF logged IS NOT NULL
                   AND (newest IS NULL OR logged > newest)
                THEN
                    newest := logged;
                END IF;

            EXCEPTION WHEN OTHERS THEN
                RETURN NEXT format('%s record %s%s: %s', rtrim(kind, 's'), n,
                                   CASE WHEN jsonb_typeof(rec) = 'object'
                                             AND rec ? 'id'
                                        THEN ' (id ' || (rec ->> 'id') || ')'
                                        ELSE '' END,
                                   SQLERRM);
            END;
        END LOOP;
    END IF;

    IF newest IS NOT NULL THEN
        INSERT INTO settings (name, value)
        VALUES ('hub_since:' || kind,
                to_char(newest AT TIME ZONE 'UTC',
                        'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        ON CONFLICT (name) DO UPDATE
            SET value = excluded.value, updated_at = now()
            WHERE settings.value::timestamptz < excluded.value::timestamptz;
    END IF;
END
$$;
