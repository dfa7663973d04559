-- 0004: the player site (grapevine_site): sessions, sign-in throttling, the
-- character registration tell, and one function per page or form step
-- (the functions are in sql/site/).
--
-- The C side routes a request, checks what only it can check (passwords,
-- hashed in a thread pool; the anonymous CSRF cookie) and calls
-- site_request(kind, session token, args) once per step; the answer is a
-- JSON document: the page's data for its template, plus "status" (and
-- "location" for a redirect).  Passwords never reach the database; session
-- tokens are stored as their SHA-256.

CREATE TABLE sessions (
    id            bigserial PRIMARY KEY,
    token_hash    bytea NOT NULL UNIQUE,       -- sha256 of the 32-byte token
    user_id       bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    csrf_token    text NOT NULL,
    address       text,
    user_agent    text,
    inserted_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);

CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- failed sign-ins, counted per account and per address over a period
CREATE TABLE sign_in_failures (
    id        bigserial PRIMARY KEY,
    account   text NOT NULL,        -- "user:<id>", or the lower-cased login
    address   text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sign_in_failures_account_idx ON sign_in_failures (account, at);
CREATE INDEX sign_in_failures_address_idx ON sign_in_failures (address, at);

CREATE INDEX characters_state_idx ON characters (game_id, state);
