CREATE OR REPLACE FUNCTION site_status(status integer, extra jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('status', status) || extra
$$;
