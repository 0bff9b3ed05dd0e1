//! Placeholders for statements whose number of parameters varies.
//!
//! PostgreSQL takes only numbered ones (`$1, $2, ...`; sqlx's `QueryBuilder` writes `?` for the
//! `Any` driver, which PostgreSQL rejects). SQLite takes both, but sqlx looks up the name of every
//! parameter it binds (`sqlite3_bind_parameter_name`), and SQLite finds a numbered parameter's
//! name by a scan of all of them: binding a statement of n numbered parameters costs O(n²). With
//! inserts of hundreds of rows that was 62% of invoicing's CPU under load (`perf`:
//! `sqlite3_bind_parameter_name` and `strncmp`). Anonymous `?` parameters have no name to look
//! up, so SQLite's statements use those.

use sqlx::AnyConnection;

/// How a statement writes its parameters, by the database it is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// `$1, $2, ...`: PostgreSQL.
    Numbered,
    /// `?, ?, ...`: SQLite, bound in order.
    Anonymous,
}

impl Placeholders {
    /// Those of `connection`'s database.
    pub fn of(connection: &AnyConnection) -> Self {
        if connection.backend_name() == "SQLite" {
            Placeholders::Anonymous
        } else {
            Placeholders::Numbered
        }
    }

    /// `$first, $first+1, ...` (or as many `?`), `count` of them. With anonymous placeholders
    /// every parameter of the statement must be one, bound in the order they appear.
    pub fn list(self, first: usize, count: usize) -> String {
        let mut text = String::with_capacity(count * 5);
        for n in first..first + count {
            if n > first {
                text.push_str(", ");
            }
            match self {
                Placeholders::Numbered => {
                    text.push('$');
                    text.push_str(&n.to_string());
                }
                Placeholders::Anonymous => text.push('?'),
            }
        }
        text
    }

    /// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `columns` values each.
    pub fn value_rows(self, rows: usize, columns: usize) -> String {
        let mut text = String::with_capacity(rows * columns * 5);
        for row in 0..rows {
            if row > 0 {
                text.push_str(", ");
            }
            text.push('(');
            text.push_str(&self.list(row * columns + 1, columns));
            text.push(')');
        }
        text
    }
}

/// A statement being built for the `Any` driver.
pub type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Parameters per statement at most: PostgreSQL takes 65,535, SQLite 32,766; a record from
/// elsewhere may have any number of lines.
const MAX_PARAMETERS: usize = 30_000;

/// Inserts `rows` with as few statements as the parameter limits allow: `{head} VALUES (...),
/// (...) {tail}`, each row's `columns` values bound by `bind`. Returns what the statements
/// returned (with a `RETURNING` tail).
pub async fn insert_rows<T, F>(
    connection: &mut sqlx::AnyConnection,
    head: &str,
    columns: usize,
    tail: &str,
    rows: &[T],
    bind: F,
) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error>
where
    T: Sync,
    F: for<'q> Fn(AnyQuery<'q>, &'q T) -> AnyQuery<'q>,
{
    let per_statement = (MAX_PARAMETERS / columns.max(1)).clamp(1, 1000);
    let placeholders = Placeholders::of(connection);
    let mut returned = Vec::new();
    for chunk in rows.chunks(per_statement) {
        let statement = format!(
            "{head} VALUES {} {tail}",
            placeholders.value_rows(chunk.len(), columns)
        );
        let mut query = sqlx::query(&statement);
        for row in chunk {
            query = bind(query, row);
        }
        returned.extend(query.fetch_all(&mut *connection).await?);
    }
    Ok(returned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_across_rows_or_leaves_them_anonymous() {
        use Placeholders::{Anonymous, Numbered};
        assert_eq!(Numbered.value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(Numbered.list(2, 3), "$2, $3, $4");
        assert_eq!(Numbered.list(1, 0), "");
        assert_eq!(Anonymous.value_rows(2, 2), "(?, ?), (?, ?)");
        assert_eq!(Anonymous.list(2, 3), "?, ?, ?");
    }
}
