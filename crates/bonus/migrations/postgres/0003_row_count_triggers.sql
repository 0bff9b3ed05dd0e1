-- The triggers that keep `bonus_order`'s count in row_count (orderflow-storage's
-- migrations create the table and the functions they run).
-- Created before the first count is taken, in one transaction: CREATE TRIGGER locks out writers
-- until it commits, so the count starts exact even while another instance runs.

CREATE TRIGGER bonus_order_counted_in AFTER INSERT ON bonus_order
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_rows();
CREATE TRIGGER bonus_order_counted_out AFTER DELETE ON bonus_order
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_rows();

CREATE FUNCTION bonus_customer_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bonus_customer AS c (customer_id, points, orders, newest_order_id)
    SELECT customer_id, SUM(points), COUNT(*), MAX(id) FROM inserted GROUP BY customer_id
    ON CONFLICT (customer_id) DO UPDATE SET
        points = c.points + EXCLUDED.points,
        orders = c.orders + EXCLUDED.orders,
        newest_order_id = GREATEST(c.newest_order_id, EXCLUDED.newest_order_id);
    RETURN NULL;
END $$;

CREATE FUNCTION bonus_customer_take_back() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE bonus_customer c SET
        points = c.points - d.points,
        orders = c.orders - d.orders,
        newest_order_id = COALESCE(
            (SELECT MAX(o.id) FROM bonus_order o WHERE o.customer_id = c.customer_id), 0)
    FROM (SELECT customer_id, SUM(points) AS points, COUNT(*) AS orders
          FROM deleted GROUP BY customer_id) d
    WHERE c.customer_id = d.customer_id;
    DELETE FROM bonus_customer
    WHERE orders = 0 AND customer_id IN (SELECT customer_id FROM deleted);
    RETURN NULL;
END $$;

CREATE TRIGGER bonus_order_adds AFTER INSERT ON bonus_order
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION bonus_customer_add();
CREATE TRIGGER bonus_order_takes_back AFTER DELETE ON bonus_order
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION bonus_customer_take_back();

INSERT INTO row_count (table_name, n) SELECT 'bonus_order', COUNT(*) FROM bonus_order;

INSERT INTO bonus_customer (customer_id, points, orders, newest_order_id)
SELECT customer_id, SUM(points), COUNT(*), MAX(id) FROM bonus_order GROUP BY customer_id;
