//! Numbered placeholders for statements whose number of parameters varies.
//!
//! sqlx's `QueryBuilder` writes `?` placeholders for the `Any` driver, which PostgreSQL rejects;
//! `$1, $2, ...` works on both backends (SQLite reads `$N` as parameter N).

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `columns` values each.
pub fn value_rows(rows: usize, columns: usize) -> String {
    let mut text = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            text.push_str(", ");
        }
        text.push('(');
        text.push_str(&list(row * columns + 1, columns));
        text.push(')');
    }
    text
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
    let mut returned = Vec::new();
    for chunk in rows.chunks(per_statement) {
        let statement = format!("{head} VALUES {} {tail}", value_rows(chunk.len(), columns));
        let mut query = sqlx::query(&statement);
        for row in chunk {
            query = bind(query, row);
        }
        returned.extend(query.fetch_all(&mut *connection).await?);
    }
    Ok(returned)
}

/// `$first, $first+1, ...`, `count` of them.
pub fn list(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_across_rows() {
        assert_eq!(value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(list(2, 3), "$2, $3, $4");
        assert_eq!(list(1, 0), "");
    }
}
