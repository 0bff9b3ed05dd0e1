-- The triggers that keep `shipment`'s count in row_count (created by orderflow-storage's
-- migrations): a row at a time, as SQLite's triggers are. Created before the first count
-- is taken, in one transaction (SQLite has one writer).

CREATE TRIGGER shipment_counted_in AFTER INSERT ON shipment BEGIN
    UPDATE row_count SET n = n + 1 WHERE table_name = 'shipment';
END;

CREATE TRIGGER shipment_counted_out AFTER DELETE ON shipment BEGIN
    UPDATE row_count SET n = n - 1 WHERE table_name = 'shipment';
END;

INSERT INTO row_count (table_name, n) SELECT 'shipment', COUNT(*) FROM shipment;
