-- The bonus programme's own record of each live order: who earned how many points by it.
-- One row per order id; a deleted order's row is removed (its points are taken back).
-- A customer's points are the sum over their rows, so they always add up.

CREATE TABLE bonus_order (
    id                 BIGINT PRIMARY KEY,
    customer_id        BIGINT NOT NULL,
    customer_name      TEXT NOT NULL,
    customer_firstname TEXT NOT NULL,
    -- Exact decimal as text ("1764.0"), as the order's total.
    total              TEXT NOT NULL,
    points             BIGINT NOT NULL CHECK (points >= 0),
    updated_ms         BIGINT NOT NULL,
    -- When this row was stored: the end of the order's journey, for latency measurements.
    received_ms        BIGINT NOT NULL
);

CREATE INDEX bonus_order_customer ON bonus_order (customer_id, id);
