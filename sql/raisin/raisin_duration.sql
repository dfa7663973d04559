-- "1m" to "365d": an interval, or NULL
CREATE OR REPLACE FUNCTION raisin_duration(s text) RETURNS interval
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    m  text[];
    d  interval;
BEGIN
    m := regexp_match(raisin_trim(coalesce(s, '')), '^([0-9]{1,6})\s*([mhd])$');

    IF m IS NULL THEN
        RETURN NULL;
    END IF;

    d := make_interval(mins => m[1]::integer
                               * CASE m[2] WHEN 'm' THEN 1
                                           WHEN 'h' THEN 60
                                           ELSE 1440 END);

    IF d < interval '1 minute' OR d > interval '365 days' THEN
        RETURN NULL;
    END IF;

    RETURN d;
END
$$;
