-- Old statistics go, at most `batch` rows of each table a call (each call
-- its own short transaction, along the index on the time, so that no lock
-- is held for long and recording goes on): the full detail older than
-- `detail`, the hourly maxima older than `hourly`.  Returns the larger of
-- the two tables' counts of rows deleted: the owner of the hub link calls
-- it again (a moment later) while that is `batch`, there may be more.
-- With the defaults the rows deleted lie outside every chart's window; a
-- retention shorter than a chart's period stops keeping that period's
-- points (below).
CREATE OR REPLACE FUNCTION backbone_statistics_prune(detail interval,
                                                     hourly interval,
                                                     batch integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    a        integer;
    b        integer;
    per      text;
    covered  boolean;
BEGIN
    DELETE FROM statistics
    WHERE ctid = ANY (ARRAY(SELECT ctid FROM statistics
                            WHERE slot < now() - detail
                            ORDER BY slot LIMIT batch));

    GET DIAGNOSTICS a = ROW_COUNT;

    DELETE FROM statistics_hourly
    WHERE ctid = ANY (ARRAY(SELECT ctid FROM statistics_hourly
                            WHERE hour < now() - hourly
                            ORDER BY hour LIMIT batch));

    GET DIAGNOSTICS b = ROW_COUNT;

    -- a chart's kept points (statistics_kept) hold what the rows held: a
    -- period whose window the retention does not cover is not kept (its
    -- network row says so, last_step NULL, and its charts are computed
    -- from the rows); once it is covered again, the next slot keeps it
    -- anew (backbone_statistics_keep())
    FOR per, covered IN
        SELECT v.p, CASE WHEN v.p = '48h'
                           THEN detail >= interval '48 hours'
                           ELSE hourly >= (statistics_period(v.p)).span END
        FROM unnest(ARRAY['48h', '7d', '30d']) AS v(p)
    LOOP
        IF covered THEN
            DELETE FROM statistics_kept
            WHERE game_id = 0 AND period = per AND last_step IS NULL;
        ELSIF NOT EXISTS (SELECT 1 FROM statistics_kept
                          WHERE game_id = 0 AND period = per
                            AND last_step IS NULL)
        THEN
            DELETE FROM statistics_kept WHERE period = per;
            INSERT INTO statistics_kept (game_id, period, step)
            VALUES (0, per, (statistics_period(per)).step);
        END IF;
    END LOOP;

    RETURN greatest(a, b);
END
$$;
