-- a required field, or an exception naming it
CREATE OR REPLACE FUNCTION backbone_need(rec jsonb, field text, kind text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v jsonb := rec -> field;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RAISE EXCEPTION '"%" missing', field;
    END IF;
    IF jsonb_typeof(v) <> kind THEN
        RAISE EXCEPTION '"%" is not a %', field, kind;
    END IF;
    RETURN v;
END
$$;
