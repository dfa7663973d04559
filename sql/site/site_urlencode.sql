-- Text for a URL's path segment or query string: everything but
-- [A-Za-z0-9_.~-] as %XX (of its UTF-8 bytes).  Text that needs none (a
-- usual name) is returned as it is, by an expression PostgreSQL inlines
-- into the query that calls it.
CREATE OR REPLACE FUNCTION site_urlencode_bytes(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(
               CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90
                         OR b BETWEEN 97 AND 122 OR b IN (45, 46, 95, 126)
                    THEN chr(b)
                    ELSE '%' || upper(lpad(to_hex(b), 2, '0')) END,
               '' ORDER BY i), '')
    FROM (SELECT i, get_byte(convert_to(s, 'UTF8'), i) AS b
          FROM generate_series(0, octet_length(convert_to(s, 'UTF8')) - 1)
               AS i) AS bytes
$$;

CREATE OR REPLACE FUNCTION site_urlencode(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN s ~ '^[A-Za-z0-9_.~-]*$' THEN s
                ELSE site_urlencode_bytes(s) END
$$;
