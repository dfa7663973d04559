-- a URL that is safe in an href: http(s) only
CREATE OR REPLACE FUNCTION site_safe_url(url text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN url ~* '^https?://[^\s"<>]+$' THEN url END
$$;
