-- at most n characters, on a word boundary, with an ellipsis when cut
CREATE OR REPLACE FUNCTION site_excerpt(s text, n integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN s IS NULL THEN NULL
                WHEN length(s) <= n THEN s
                ELSE regexp_replace(left(s, n), '\s+\S*$', '') || '…' END
$$;
