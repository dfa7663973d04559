-- Text for a URL's query string: everything but [A-Za-z0-9_.~-] as %XX.
CREATE OR REPLACE FUNCTION site_urlencode(s text) RETURNS text
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
