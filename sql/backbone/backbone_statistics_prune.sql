-- Old statistics go, at most `batch` rows of each table a call (each call
-- its own short transaction, along the index on the time, so that no lock
-- is held for long and recording goes on): the full detail older than
-- `detail`, the hourly maxima older than `hourly`.  Returns the larger of
-- the two tables' counts of rows deleted: the owner of the hub link calls
-- it again (a moment later) while that is `batch`, there may be more.
CREATE OR REPLACE FUNCTION backbone_statistics_prune(detail interval,
                                                     hourly interval,
                                                     batch integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    a  integer;
    b  integer;
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

    RETURN greatest(a, b);
END
$$;
