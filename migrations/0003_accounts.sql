-- 0003: accounts and the characters players register in games, read by the
-- JSON API and written by the accounts issue (sign up, character
-- registration by a tell to the system player, approve or deny).
--
-- Names match case-insensitively everywhere: usernames, emails and a
-- game's character names are unique on lower().

CREATE TABLE users (
    id                bigserial PRIMARY KEY,
    username          text NOT NULL
                      CHECK (username ~ '^[A-Za-z0-9-]{3,50}$'),
    email             text NOT NULL
                      CHECK (length(email) <= 254 AND email ~ '^[^@]+@[^@]+$'),
    password_hash     text NOT NULL,
    role              text NOT NULL DEFAULT 'user'
                      CHECK (role IN ('user', 'moderator', 'admin')),
    -- sent in a tell "register <key>" to claim a character; single use:
    -- the accounts code replaces it with gen_random_uuid() when used
    registration_key  uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    suspended_at      timestamptz,
    inserted_at       timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE characters (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    game_id      bigint NOT NULL REFERENCES games ON DELETE CASCADE,
    name         text NOT NULL CHECK (name <> '' AND length(name) <= 100),
    state        text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'approved', 'denied')),
    inserted_at  timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- a denied row keeps the name taken until it is deleted (as Grapevine did)
CREATE UNIQUE INDEX characters_game_name_key
    ON characters (game_id, lower(name));
CREATE INDEX characters_user_idx ON characters (user_id);

-- Whether a game's page shows who is online.  A local setting: the hub's
-- game records do not carry it (Grapevine's display_players).
ALTER TABLE games ADD COLUMN display_players boolean NOT NULL DEFAULT true;

-- the public game list sorts and filters by name
CREATE INDEX games_name_idx ON games (lower(name)) WHERE display;
