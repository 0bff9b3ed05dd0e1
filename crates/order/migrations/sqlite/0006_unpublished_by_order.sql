-- The relay takes an event only when no earlier event of the same order is still unpublished
-- (another relay may hold it): this index answers that per row without a scan.
CREATE INDEX order_event_unpublished_by_order ON order_event (order_id, id) WHERE published_ms IS NULL;
