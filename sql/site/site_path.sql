-- A link's path: prefix, then one path segment percent-encoded (so that
-- "a/b", "a?b#c" or "x%2Fy" stay one segment, the one named).  NULL when
-- no path can name the segment: "" (a path drops empty segments), "." and
-- ".." (a browser resolves them, "%2E" included, before it asks); the
-- templates then show the name without a link.
CREATE OR REPLACE FUNCTION site_path(prefix text, segment text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN segment IS NULL OR segment IN ('', '.', '..') THEN NULL
                ELSE prefix || site_urlencode(segment) END
$$;
