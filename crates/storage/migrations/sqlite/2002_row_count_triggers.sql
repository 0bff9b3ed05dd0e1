-- Nothing to create: SQLite's triggers carry their bodies themselves (each service's
-- `*_row_count_triggers.sql`); PostgreSQL's twin creates the functions its triggers run.
SELECT 1;
