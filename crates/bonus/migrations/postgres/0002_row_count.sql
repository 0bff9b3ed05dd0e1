-- How many rows `bonus_order` holds, kept by triggers (0003_row_count_triggers.sql) in the
-- transaction that adds or removes them: a list page says how many there are without counting
-- them (COUNT(*) reads every row, and a million rows take a page from milliseconds to a tenth
-- of a second).

CREATE TABLE row_count (
    table_name TEXT PRIMARY KEY,
    n          BIGINT NOT NULL
);

-- Each customer's standing (points, live orders, the newest order for the name), kept by the
-- same triggers: the customers page reads a row per customer instead of summing every order.
CREATE TABLE bonus_customer (
    customer_id     BIGINT PRIMARY KEY,
    points          BIGINT NOT NULL,
    orders          BIGINT NOT NULL,
    newest_order_id BIGINT NOT NULL
);

CREATE INDEX bonus_customer_standing ON bonus_customer (points DESC, customer_id);
