-- an optional field of a given JSON type: NULL when absent or null
CREATE OR REPLACE FUNCTION backbone_opt(rec jsonb, field text, kind text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v jsonb := rec -> field;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> kind THEN
        RAISE EXCEPTION '"%" is not a %', field, kind;
    END IF;
    RETURN v;
END
$$;
