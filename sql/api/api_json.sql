-- The JSON API's values written in SQL byte for byte as the module's yajl
-- writer writes them (src/core/ngx_grapevine_json.c), for the records kept
-- ready (migrations/0011_api_fragments.sql): a record's JSON is the same
-- whether it was kept or written by C.  Each is one expression that
-- PostgreSQL inlines into the query that calls it (no sub-SELECT, and
-- STABLE as to_json() is: a call that is not inlined costs the hub link's
-- sync tens of microseconds a value); the rare slow paths are functions
-- of their own.

-- a string, or null: PostgreSQL's JSON escapes are yajl's but for the
-- control characters without a short escape, which yajl writes in capital
-- hexadecimal (\u001F, where to_json() writes \u001f)
CREATE OR REPLACE FUNCTION api_str(s text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN s IS NULL THEN 'null'
                WHEN s !~ '[\x01-\x1f]' THEN to_json(s)::text
                ELSE api_str_escaped(s) END
$$;

CREATE OR REPLACE FUNCTION api_str_escaped(s text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT '"' || string_agg(
               CASE WHEN c ~ '[\x01-\x07\x0b\x0e-\x1f]'
                    THEN '\u00' || upper(lpad(to_hex(ascii(c)), 2, '0'))
                    ELSE substr(to_json(c)::text, 2,
                                length(to_json(c)::text) - 2)
               END, '' ORDER BY i) || '"'
    FROM regexp_split_to_table(s, '') WITH ORDINALITY AS t(c, i)
$$;

-- a link from the hub (a homepage, a web client): an http(s) URL without
-- white space, control characters, quotes or angle brackets, as the
-- module's ngx_grapevine_api_kurl(); anything else is null
CREATE OR REPLACE FUNCTION api_url(s text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN s ~* '^https?://[^\x01-\x20\x7f"<>]+$'
                THEN to_json(s)::text ELSE 'null' END
$$;

-- a path segment percent-encoded as ngx_grapevine_escape() does: the
-- bytes of UTF-8 but letters, digits and "-._~" as %XX
CREATE OR REPLACE FUNCTION api_seg(s text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN s ~ '^[A-Za-z0-9._~-]*$' THEN s
                ELSE api_seg_escaped(s) END
$$;

CREATE OR REPLACE FUNCTION api_seg_escaped(s text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT string_agg(
               CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90
                         OR b BETWEEN 97 AND 122 OR b IN (45, 46, 95, 126)
                    THEN chr(b)
                    ELSE '%' || upper(lpad(to_hex(b), 2, '0'))
               END, '' ORDER BY i)
    FROM generate_series(0, octet_length(s) - 1) AS i,
         get_byte(convert_to(s, 'UTF8'), i) AS b
$$;

-- a time as the API writes it, UTC, ISO 8601, or null
CREATE OR REPLACE FUNCTION api_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce('"' || to_char(t AT TIME ZONE 'UTC',
                                   'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '"',
                    'null')
$$;
