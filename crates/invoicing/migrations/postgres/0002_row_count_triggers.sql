-- The triggers that keep `invoice`'s count in row_count (orderflow-storage's
-- migrations create the table and the functions they run).
-- Created before the first count is taken, in one transaction: CREATE TRIGGER locks out writers
-- until it commits, so the count starts exact even while another instance runs.

CREATE TRIGGER invoice_counted_in AFTER INSERT ON invoice
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_rows();
CREATE TRIGGER invoice_counted_out AFTER DELETE ON invoice
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_rows();

INSERT INTO row_count (table_name, n) SELECT 'invoice', COUNT(*) FROM invoice;
