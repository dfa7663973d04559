-- The audit log is append-only: UPDATE, DELETE and TRUNCATE are refused.
CREATE OR REPLACE FUNCTION raisin_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'raisin_audit is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE OR REPLACE TRIGGER raisin_audit_no_update BEFORE UPDATE OR DELETE
    ON raisin_audit FOR EACH ROW
    EXECUTE FUNCTION raisin_audit_append_only();

CREATE OR REPLACE TRIGGER raisin_audit_no_truncate BEFORE TRUNCATE
    ON raisin_audit FOR EACH STATEMENT
    EXECUTE FUNCTION raisin_audit_append_only();
