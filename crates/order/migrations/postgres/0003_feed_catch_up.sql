-- Where a reader left the feed, from its If-Modified-Since: the first position sequenced at or
-- after a time. (Positions and their times grow together.)
CREATE INDEX order_event_sequenced ON order_event (sequenced_ms, position);
