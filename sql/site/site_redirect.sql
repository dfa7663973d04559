CREATE OR REPLACE FUNCTION site_redirect(location text,
                                         extra jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('status', 303, 'location', location) || extra
$$;
