-- the page an action goes back to: a Raisin path, or the default
CREATE OR REPLACE FUNCTION raisin_back(back text, fallback text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN back ~ '^/raisin/[!-~]*$' AND back !~ '[\\"<>]'
                THEN back ELSE fallback END
$$;
