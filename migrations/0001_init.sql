-- 0001: the foundation.  schema_migrations itself is created by util/migrate
-- before any file runs.  Migration files must not contain BEGIN/COMMIT:
-- util/migrate runs them, and then sql/, in one transaction.

-- Small named values the module keeps between runs (the Backbone's sync
-- high-water mark, for one).
CREATE TABLE settings (
    name        text PRIMARY KEY,
    value       text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
