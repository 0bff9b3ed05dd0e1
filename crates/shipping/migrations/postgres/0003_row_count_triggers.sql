-- The triggers that keep row_count (0002_row_count.sql). A statement adds its rows' count
-- once (transition tables), so a batch of 256 copies is one update of the count's row; writers
-- of the table in concurrent transactions queue on that row until each commits.
-- Created before the first count is taken, in one transaction: CREATE TRIGGER locks out writers
-- until it commits, so the count starts exact even while another instance runs.

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

CREATE TRIGGER shipment_counted_in AFTER INSERT ON shipment
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_rows();
CREATE TRIGGER shipment_counted_out AFTER DELETE ON shipment
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_rows();

INSERT INTO row_count (table_name, n) SELECT 'shipment', COUNT(*) FROM shipment;
