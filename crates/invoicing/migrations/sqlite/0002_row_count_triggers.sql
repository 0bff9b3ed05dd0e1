-- The triggers that keep `invoice`'s count in row_count (created by orderflow-storage's
-- migrations): a row at a time, as SQLite's triggers are. Created before the first count
-- is taken, in one transaction (SQLite has one writer).

CREATE TRIGGER invoice_counted_in AFTER INSERT ON invoice BEGIN
    UPDATE row_count SET n = n + 1 WHERE table_name = 'invoice';
END;

CREATE TRIGGER invoice_counted_out AFTER DELETE ON invoice BEGIN
    UPDATE row_count SET n = n - 1 WHERE table_name = 'invoice';
END;

INSERT INTO row_count (table_name, n) SELECT 'invoice', COUNT(*) FROM invoice;
