-- a 4xx answer with a message (and the field errors of a 422)
CREATE OR REPLACE FUNCTION raisin_fail(status integer, message text,
                                       field text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT site_status(status, jsonb_build_object('message', message))
           || CASE WHEN field IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('errors', jsonb_build_object(
                            field, jsonb_build_array(message))) END
$$;
