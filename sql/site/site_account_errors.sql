-- Username and email rules; errors as {"field": ["code", ...]}, the
-- codes worded by the templates (conf/templates/words.mustache).
CREATE OR REPLACE FUNCTION site_account_errors(new_username text,
                                               new_email text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    errors  jsonb := '{}';
BEGIN
    IF new_username IS NOT NULL THEN
        IF new_username = '' THEN
            errors := errors || '{"username": ["username_missing"]}';
        ELSIF length(new_username) < 3 OR length(new_username) > 50 THEN
            errors := errors || '{"username": ["username_length"]}';
        ELSIF new_username !~ '^[A-Za-z0-9-]+$' THEN
            errors := errors || '{"username": ["username_chars"]}';
        ELSIF EXISTS (SELECT 1 FROM users
                      WHERE lower(users.username) = lower(new_username)) THEN
            errors := errors || '{"username": ["username_taken"]}';
        END IF;
    END IF;

    IF new_email IS NOT NULL THEN
        IF new_email = '' THEN
            errors := errors || '{"email": ["email_missing"]}';
        ELSIF length(new_email) > 254
              OR new_email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' THEN
            errors := errors || '{"email": ["email_invalid"]}';
        ELSIF EXISTS (SELECT 1 FROM users
                      WHERE lower(users.email) = lower(new_email)) THEN
            errors := errors || '{"email": ["email_taken"]}';
        END IF;
    END IF;

    RETURN errors;
END
$$;
