-- The triggers that keep `orders`'s count in row_count (created by orderflow-storage's
-- migrations): a row at a time, as SQLite's triggers are. Created before the first count
-- is taken, in one transaction (SQLite has one writer).

CREATE TRIGGER orders_counted_in AFTER INSERT ON orders BEGIN
    UPDATE row_count SET n = n + 1 WHERE table_name = 'orders';
END;

CREATE TRIGGER orders_counted_out AFTER DELETE ON orders BEGIN
    UPDATE row_count SET n = n - 1 WHERE table_name = 'orders';
END;

INSERT INTO row_count (table_name, n) SELECT 'orders', COUNT(*) FROM orders;
