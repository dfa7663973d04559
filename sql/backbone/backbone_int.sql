CREATE OR REPLACE FUNCTION backbone_int(v jsonb, field text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF (v #>> '{}') !~ '^-?[0-9]{1,18}$' THEN
        RAISE EXCEPTION '"%" is not an integer', field;
    END IF;
    RETURN (v #>> '{}')::bigint;
END
$$;
