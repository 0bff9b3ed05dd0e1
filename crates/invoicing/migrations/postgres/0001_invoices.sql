-- The invoicing service's own copy of each order: what it needs to bill, nothing more.
-- An invoice's id is its order's id; the first copy stored wins.

CREATE TABLE invoice (
    id                 BIGINT PRIMARY KEY,
    customer_id        BIGINT NOT NULL,
    customer_name      TEXT NOT NULL,
    customer_firstname TEXT NOT NULL,
    customer_email     TEXT NOT NULL,
    updated_ms         BIGINT NOT NULL,
    street             TEXT NOT NULL,
    zip                TEXT NOT NULL,
    city               TEXT NOT NULL,
    -- Exact decimals as text ("1764.0"), portable between PostgreSQL and SQLite.
    total_amount       TEXT NOT NULL,
    -- When this copy was stored: the end of the order's journey, for latency measurements.
    received_ms        BIGINT NOT NULL
);

CREATE TABLE invoice_line (
    invoice_id BIGINT NOT NULL REFERENCES invoice (id),
    line_no    BIGINT NOT NULL,
    count      BIGINT NOT NULL CHECK (count > 0),
    item_id    BIGINT NOT NULL,
    item_name  TEXT NOT NULL,
    price      TEXT NOT NULL,
    PRIMARY KEY (invoice_id, line_no)
);
