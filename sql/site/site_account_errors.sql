-- Username and email rules; errors as {"field": ["message", ...]}.
CREATE OR REPLACE FUNCTION site_account_errors(new_username text,
                                               new_email text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    errors  jsonb := '{}';
BEGIN
    IF new_username IS NOT NULL THEN
        IF new_username = '' THEN
            errors := errors || '{"username": ["Choose a username."]}';
        ELSIF length(new_username) < 3 OR length(new_username) > 50 THEN
            errors := errors || '{"username": ["A username has 3 to 50 '
                                'characters."]}';
        ELSIF new_username !~ '^[A-Za-z0-9-]+$' THEN
            errors := errors || '{"username": ["A username may only hold '
                                'letters, digits and dashes."]}';
        ELSIF EXISTS (SELECT 1 FROM users
                      WHERE lower(users.username) = lower(new_username)) THEN
            errors := errors || '{"username": ["This username is taken."]}';
        END IF;
    END IF;

    IF new_email IS NOT NULL THEN
        IF new_email = '' THEN
            errors := errors || '{"email": ["Enter your email address."]}';
        ELSIF length(new_email) > 254
              OR new_email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' THEN
            errors := errors || '{"email": ["This is not an email '
                                'address."]}';
        ELSIF EXISTS (SELECT 1 FROM users
                      WHERE lower(users.email) = lower(new_email)) THEN
            errors := errors || '{"email": ["This email address is already '
                                'in use."]}';
        END IF;
    END IF;

    RETURN errors;
END
$$;
