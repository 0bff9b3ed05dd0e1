/// Whether a retry of the same statement can succeed: the database was unreachable, restarting,
/// busy or out of resources, not offended by the data.
///
/// Constraint violations and data exceptions (SQLSTATE classes 22 and 23, SQLite's constraint
/// errors) are permanent: the same row gives the same answer. An error in the statement or the
/// schema (class 42: a table dropped under a running service, a column a migration has not
/// added yet, a missing privilege) is not the data's fault: every event would meet it, so it is
/// transient, and the consumer waits, saying why, instead of parking everything that arrives
/// (SQLite's "no such table" is its generic error, transient for the same reason).
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation()
                || db.is_foreign_key_violation()
                || db.is_check_violation()
                || matches!(db.kind(), sqlx::error::ErrorKind::NotNullViolation)
            {
                return false;
            }
            match db.code() {
                // PostgreSQL: data exceptions and integrity violations.
                Some(code) if code.starts_with("22") || code.starts_with("23") => false,
                // SQLite: SQLITE_TOOBIG (18), SQLITE_MISMATCH (20), SQLITE_CONSTRAINT (19).
                Some(code) if matches!(code.as_ref(), "18" | "19" | "20") => false,
                _ => true,
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::error::Error as StdError;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::is_transient;

    /// A database's answer with SQLSTATE `code`, as a driver reports it.
    #[derive(Debug)]
    struct Answer(&'static str);

    impl std::fmt::Display for Answer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl StdError for Answer {}

    impl DatabaseError for Answer {
        fn message(&self) -> &str {
            self.0
        }

        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }

        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }

        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }

        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }

        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn answered(code: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Answer(code)))
    }

    #[test]
    fn what_the_data_did_is_permanent() {
        for code in ["22P02", "22003", "23505", "23502", "19"] {
            assert!(!is_transient(&answered(code)), "{code}");
        }
    }

    #[test]
    fn what_the_schema_or_the_server_did_is_transient() {
        // Undefined table and column, insufficient privilege, no such table on SQLite (1),
        // serialization failure, admin shutdown, too many connections.
        for code in ["42P01", "42703", "42501", "1", "40001", "57P01", "53300"] {
            assert!(is_transient(&answered(code)), "{code}");
        }
        assert!(is_transient(&sqlx::Error::PoolTimedOut));
    }
}
