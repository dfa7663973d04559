-- 0001: the foundation.  schema_migrations itself is created by util/migrate
-- before any file runs.  Migration files must not contain BEGIN/COMMIT:
-- each one runs in a transaction of its own.

-- Small named values the module keeps between runs (the Backbone's sync
-- high-water mark, for one).
CREATE TABLE settings (
    name        text PRIMARY KEY,
    value       text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
