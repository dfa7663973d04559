-- 0009: the site against abuse (issue 11).
--
-- Signing in counts an attempt before its password is checked (a failure
-- until it succeeds), one account and one address at a time, so that no
-- concurrency gets more checks than the throttle allows; the lock is per
-- account and address, with a backstop per account.  site_sign_in_failed()
-- is gone: a wrong password was counted when it was tried.
--
-- sign_ups: the sign-ups that reached the hashing of their password, per
-- address (sign-up is throttled per address), and while one is under way
-- the name and the address it takes, so that a concurrent sign-up of the
-- same name or address is refused before its password is hashed.

DROP FUNCTION IF EXISTS site_sign_in_failed(jsonb, jsonb);

CREATE INDEX sign_in_failures_pair_idx
    ON sign_in_failures (account, address, at);
CREATE INDEX sign_in_failures_at_idx ON sign_in_failures (at);

CREATE TABLE sign_ups (
    id        bigserial PRIMARY KEY,
    -- lower-cased, while the sign-up is under way; NULL once it is done
    username  text,
    email     text,
    address   text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX sign_ups_username_key ON sign_ups (username);
CREATE UNIQUE INDEX sign_ups_email_key ON sign_ups (email);
CREATE INDEX sign_ups_address_idx ON sign_ups (address, at);
CREATE INDEX sign_ups_at_idx ON sign_ups (at);
