-- an action refused: raisin_fail()'s answer, with the way back to the
-- page the action came from
CREATE OR REPLACE FUNCTION raisin_refuse(args jsonb, status integer,
                                         code text, field text DEFAULT NULL,
                                         extra jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT raisin_fail(status, code, field, extra)
           || jsonb_build_object('back', raisin_back(args ->> 'back',
                                                     '/raisin/'))
$$;
