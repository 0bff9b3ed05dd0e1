-- orderflow-consumer's own tables, in every consumer service's schema (numbered from 1001: the
-- services' own migrations count from 1). IF NOT EXISTS: schemas made before these tables moved
-- here got them from each service's 0002_feed.sql.

-- The feed transport: where this service is in the order feed, moved in the same transaction
-- as the effect of each entry, so that a restart resumes exactly where it stopped.
CREATE TABLE IF NOT EXISTS feed_checkpoint (
    stream   TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);

-- Events that could not be applied (not an order, or data the database rejects), kept with the
-- error so that they can be replayed once the cause is fixed.
CREATE TABLE IF NOT EXISTS parked_event (
    id        BIGSERIAL PRIMARY KEY,
    stream    TEXT NOT NULL,
    position  BIGINT,
    source    TEXT NOT NULL,
    payload   TEXT,
    error     TEXT NOT NULL,
    parked_ms BIGINT NOT NULL
);
