-- How many rows `invoice` holds, kept by triggers (0003_row_count_triggers.sql) in the
-- transaction that adds or removes them: a list page says how many there are without counting
-- them (COUNT(*) reads every row, and a million rows take a page from milliseconds to a tenth
-- of a second).

CREATE TABLE row_count (
    table_name TEXT PRIMARY KEY,
    n          BIGINT NOT NULL
);
