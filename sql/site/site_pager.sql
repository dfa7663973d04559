-- The links of page `page` of a list at base (a path, or a path and a
-- query string ending in "&"), when it has a previous or a next page:
-- {"prev": …, "next": …} (either null), or NULL when it has neither.
-- Page 1 is base without "page=".
CREATE OR REPLACE FUNCTION site_pager(base text, page integer, more boolean)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN page > 1 OR more THEN jsonb_build_object(
        'prev', CASE WHEN page = 2 THEN rtrim(rtrim(base, '&'), '?')
                     WHEN page > 2
                     THEN base || CASE WHEN base ~ '[?&]$' THEN ''
                                       ELSE '?' END
                          || 'page=' || (page - 1) END,
        'next', CASE WHEN more
                     THEN base || CASE WHEN base ~ '[?&]$' THEN ''
                                       ELSE '?' END
                          || 'page=' || (page + 1) END) END
$$;
