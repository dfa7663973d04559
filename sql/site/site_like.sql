-- A LIKE pattern that finds s anywhere in a text, s taken as it is ("%",
-- "_" and "\" are no wildcards): what strpos(text, s) > 0 finds, in a
-- form a trigram index (pg_trgm) serves.
CREATE OR REPLACE FUNCTION site_like(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT '%' || replace(replace(replace(s, '\', '\\'), '%', '\%'), '_', '\_')
           || '%'
$$;
