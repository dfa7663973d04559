-- every action's first check: a reason of 1 to 500 characters (without
-- the white space at its ends); the refusal, or NULL
CREATE OR REPLACE FUNCTION raisin_check_reason(args jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN raisin_trim(coalesce(args ->> 'reason', '')) = '' THEN
            raisin_refuse(args, 422, 'reason_missing', 'reason')
        WHEN length(raisin_trim(args ->> 'reason')) > 500 THEN
            raisin_refuse(args, 422, 'reason_long', 'reason')
    END
$$;
