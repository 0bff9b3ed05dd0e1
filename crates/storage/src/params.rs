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
