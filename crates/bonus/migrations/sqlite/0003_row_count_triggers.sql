-- The triggers that keep `bonus_order`'s count in row_count (created by orderflow-storage's
-- migrations): a row at a time, as SQLite's triggers are. Created before the first count
-- is taken, in one transaction (SQLite has one writer).

CREATE TRIGGER bonus_order_counted_in AFTER INSERT ON bonus_order BEGIN
    UPDATE row_count SET n = n + 1 WHERE table_name = 'bonus_order';
END;

CREATE TRIGGER bonus_order_counted_out AFTER DELETE ON bonus_order BEGIN
    UPDATE row_count SET n = n - 1 WHERE table_name = 'bonus_order';
END;

CREATE TRIGGER bonus_order_adds AFTER INSERT ON bonus_order BEGIN
    INSERT INTO bonus_customer (customer_id, points, orders, newest_order_id)
    VALUES (NEW.customer_id, NEW.points, 1, NEW.id)
    ON CONFLICT (customer_id) DO UPDATE SET
        points = points + excluded.points,
        orders = orders + 1,
        newest_order_id = MAX(newest_order_id, excluded.newest_order_id);
END;

CREATE TRIGGER bonus_order_takes_back AFTER DELETE ON bonus_order BEGIN
    UPDATE bonus_customer SET
        points = points - OLD.points,
        orders = orders - 1,
        newest_order_id = COALESCE(
            (SELECT MAX(id) FROM bonus_order WHERE customer_id = OLD.customer_id), 0)
    WHERE customer_id = OLD.customer_id;
    DELETE FROM bonus_customer WHERE customer_id = OLD.customer_id AND orders = 0;
END;

INSERT INTO row_count (table_name, n) SELECT 'bonus_order', COUNT(*) FROM bonus_order;

INSERT INTO bonus_customer (customer_id, points, orders, newest_order_id)
SELECT customer_id, SUM(points), COUNT(*), MAX(id) FROM bonus_order GROUP BY customer_id;
