-- a 64-digit hex token's row, or NULL
CREATE OR REPLACE FUNCTION site_token_hash(token text) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN token ~ '^[0-9a-f]{64}$'
                THEN sha256(decode(token, 'hex')) END
$$;
