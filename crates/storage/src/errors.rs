/// Whether a retry of the same statement can succeed: the database was unreachable, restarting,
/// busy or out of resources, not offended by the data.
///
/// Constraint violations and data exceptions (SQLSTATE classes 22 and 23, SQLite's constraint
/// errors) are permanent: the same row gives the same answer.
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
                // PostgreSQL: data exceptions, integrity violations, syntax or access errors.
                Some(code) if code.starts_with("22") || code.starts_with("23") => false,
                Some(code) if code.starts_with("42") => false,
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
