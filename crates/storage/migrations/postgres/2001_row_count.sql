-- How many rows a service's listed tables hold, kept by each service's triggers in the
-- transaction that adds or removes them (its `*_row_count_triggers.sql`; `Database::row_count`
-- reads it): a list page says how many there are without counting them (COUNT(*) reads every
-- row, and a million rows take a page from milliseconds to a tenth of a second).

CREATE TABLE row_count (
    table_name TEXT PRIMARY KEY,
    n          BIGINT NOT NULL
);
