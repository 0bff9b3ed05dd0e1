-- Items belong to a category of the catalog. The contract's JSON record (version 1) does not
-- carry it; version 2 of the record does (crates/events/schemas/order-placed-v2.avsc).
ALTER TABLE item ADD COLUMN category TEXT;

UPDATE item SET category = 'Music players' WHERE id IN (1, 2, 3);
UPDATE item SET category = 'Video' WHERE id = 4;
