-- The trigger functions every service's row_count triggers run (its `*_row_count_triggers.sql`).
-- A statement adds its rows' count once (transition tables), so a batch of 256 copies is one
-- update of the count's row; writers of the table in concurrent transactions queue on that row
-- until each commits.

CREATE FUNCTION count_inserted_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE row_count SET n = n + (SELECT COUNT(*) FROM inserted) WHERE table_name = TG_TABLE_NAME;
    RETURN NULL;
END $$;

CREATE FUNCTION count_deleted_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE row_count SET n = n - (SELECT COUNT(*) FROM deleted) WHERE table_name = TG_TABLE_NAME;
    RETURN NULL;
END $$;
