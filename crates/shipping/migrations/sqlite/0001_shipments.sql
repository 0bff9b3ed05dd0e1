-- The shipping service's own copy of each order: what it needs to ship, nothing more.
-- A shipment's id is its order's id; the first copy stored wins.

CREATE TABLE shipment (
    id                 BIGINT PRIMARY KEY,
    customer_id        BIGINT NOT NULL,
    customer_name      TEXT NOT NULL,
    customer_firstname TEXT NOT NULL,
    updated_ms         BIGINT NOT NULL,
    street             TEXT NOT NULL,
    zip                TEXT NOT NULL,
    city               TEXT NOT NULL,
    -- When this copy was stored: the end of the order's journey, for latency measurements.
    received_ms        BIGINT NOT NULL
);

CREATE TABLE shipment_line (
    shipment_id BIGINT NOT NULL REFERENCES shipment (id),
    line_no     BIGINT NOT NULL,
    count       BIGINT NOT NULL CHECK (count > 0),
    item_id     BIGINT NOT NULL,
    item_name   TEXT NOT NULL,
    PRIMARY KEY (shipment_id, line_no)
);
