-- a 4xx answer: its status, the code of its problem (the templates word
-- it: conf/templates/raisin-words.mustache), the field it concerns for a
-- 422, and what the words may name
CREATE OR REPLACE FUNCTION raisin_fail(status integer, code text,
                                       field text DEFAULT NULL,
                                       extra jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT site_status(status, jsonb_build_object('error', code))
           || CASE WHEN field IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('errors', jsonb_build_object(
                            field, jsonb_build_array(code))) END
           || extra
$$;
