-- The order service's schema (search_path is set to it by the storage layer).

CREATE TABLE customer (
    id        BIGINT PRIMARY KEY,
    name      TEXT NOT NULL,
    firstname TEXT NOT NULL,
    email     TEXT NOT NULL
);

CREATE TABLE item (
    id    BIGINT PRIMARY KEY,
    name  TEXT NOT NULL,
    -- Exact decimal as text ("42.0"): portable between PostgreSQL and SQLite through sqlx's Any.
    price TEXT NOT NULL
);

CREATE TABLE orders (
    id               BIGSERIAL PRIMARY KEY,
    customer_id      BIGINT NOT NULL REFERENCES customer (id),
    updated_ms       BIGINT NOT NULL,
    shipping_street  TEXT NOT NULL,
    shipping_zip     TEXT NOT NULL,
    shipping_city    TEXT NOT NULL,
    billing_street   TEXT NOT NULL,
    billing_zip      TEXT NOT NULL,
    billing_city     TEXT NOT NULL,
    total_price      TEXT NOT NULL
);

-- Lines keep the item's name and price as they were when the order was placed.
CREATE TABLE order_line (
    order_id  BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no   BIGINT NOT NULL,
    count     BIGINT NOT NULL CHECK (count > 0),
    item_id   BIGINT NOT NULL REFERENCES item (id),
    item_name TEXT NOT NULL,
    price     TEXT NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

-- The transactional outbox and event log: written in the same transaction as the order,
-- published by the relay, kept afterwards (the feed recipe reads it too).
CREATE TABLE order_event (
    id           BIGSERIAL PRIMARY KEY,
    order_id     BIGINT NOT NULL,
    event_type   TEXT NOT NULL,
    event_key    TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    published_ms BIGINT
);

CREATE INDEX order_event_unpublished ON order_event (id) WHERE published_ms IS NULL;

-- Seed data, inserted exactly once because a migration runs exactly once.
INSERT INTO customer (id, name, firstname, email) VALUES
    (1, 'Wolff', 'Eberhard', 'eberhard.wolff@gmail.com'),
    (2, 'Johnson', 'Rod', 'rod@somewhere.com');

INSERT INTO item (id, name, price) VALUES
    (1, 'iPod', '42.0'),
    (2, 'iPod touch', '21.0'),
    (3, 'iPod nano', '1.0'),
    (4, 'Apple TV', '100.0');
