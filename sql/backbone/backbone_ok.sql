-- jsonb type checks with the per-record rules: required (need), optional
-- (opt: absent or null allowed), integer (backbone_int's pattern)
CREATE OR REPLACE FUNCTION backbone_ok_need(v jsonb, kind text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_typeof(v) = kind, false)
$$;

CREATE OR REPLACE FUNCTION backbone_ok_opt(v jsonb, kind text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_typeof(v), 'null') IN ('null', kind)
$$;

CREATE OR REPLACE FUNCTION backbone_ok_int(v jsonb, required boolean)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN coalesce(jsonb_typeof(v), 'null') = 'null'
                THEN NOT required
                ELSE jsonb_typeof(v) = 'number'
                     AND (v #>> '{}') ~ '^-?[0-9]{1,18}$' END
$$;
