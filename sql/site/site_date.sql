CREATE OR REPLACE FUNCTION site_date(d date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(d, 'FMDay, FMMonth FMDD, YYYY')
$$;
