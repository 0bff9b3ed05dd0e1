-- How each parked record was written (json, avro v1, avro v2, ...), so that the list can say
-- it; rows parked before this column existed were JSON.
ALTER TABLE parked_event ADD COLUMN encoding TEXT NOT NULL DEFAULT 'json';
