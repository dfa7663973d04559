-- the answer to a query parameter longer than max characters, or NULL
CREATE OR REPLACE FUNCTION raisin_too_long(args jsonb, key text, max integer)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(raisin_trim(args ->> key)) > max
                THEN raisin_fail(400, 'too_long', NULL,
                                 jsonb_build_object('param', key,
                                                    'max', max)) END
$$;
