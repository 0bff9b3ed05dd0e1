-- Each customer's standing (points, live orders, the newest order for the name), kept by
-- triggers on bonus_order (0003_row_count_triggers.sql): the customers page reads a row per
-- customer instead of summing every order.
CREATE TABLE bonus_customer (
    customer_id     BIGINT PRIMARY KEY,
    points          BIGINT NOT NULL,
    orders          BIGINT NOT NULL,
    newest_order_id BIGINT NOT NULL
);

CREATE INDEX bonus_customer_standing ON bonus_customer (points DESC, customer_id);
