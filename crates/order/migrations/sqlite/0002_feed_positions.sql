-- Feed positions: assigned by the sequencer to events that have already committed, in one
-- serialized step, so that a reader who has seen position p has seen every position below p.
-- (An id or a timestamp is taken before commit; readers that trust it skip late commits.)
ALTER TABLE order_event ADD COLUMN position BIGINT;
ALTER TABLE order_event ADD COLUMN sequenced_ms BIGINT;
CREATE UNIQUE INDEX order_event_position ON order_event (position);
CREATE INDEX order_event_unsequenced ON order_event (id) WHERE position IS NULL;

-- The sequencer's state, one row; locking it serializes sequencers of several order instances.
CREATE TABLE feed_sequence (
    id                BIGINT PRIMARY KEY,
    last_position     BIGINT NOT NULL,
    last_sequenced_ms BIGINT NOT NULL
);
INSERT INTO feed_sequence (id, last_position, last_sequenced_ms) VALUES (1, 0, 0);
