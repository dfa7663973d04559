-- A suspended account's password is still checked, so that its owner
-- (and only someone who knows the password) learns why signing in fails:
-- its id is NULL, which site_sign_in_begin() passes on to C as "no user"
-- while the hash is the real one (src/site/ngx_grapevine_account.c).
CREATE OR REPLACE FUNCTION site_sign_in_account(login text, OUT id bigint,
                                                OUT password_hash text,
                                                OUT account text)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN u.suspended_at IS NULL THEN u.id END, u.password_hash,
           coalesce('user:' || u.id, 'login:' || lower(login)) AS account
    FROM (SELECT 1) AS one
    LEFT JOIN users u
        ON lower(u.username) = lower(login) OR lower(u.email) = lower(login)
    ORDER BY lower(u.username) = lower(login) DESC
    LIMIT 1
$$;
