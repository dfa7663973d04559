-- s without white space (spaces, tabs, new lines…) at either end
CREATE OR REPLACE FUNCTION raisin_trim(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(s, '^[[:space:]]+|[[:space:]]+$', '', 'g')
$$;
