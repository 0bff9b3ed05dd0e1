-- The W3C traceparent of the request that stored the event (NULL when it was not traced): the
-- relay and the feed send it on, so each consumer's span continues the order's trace.
ALTER TABLE order_event ADD COLUMN traceparent TEXT;
