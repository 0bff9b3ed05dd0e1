//! Every crate's `migrations/postgres/` and `migrations/sqlite/` say the same thing: each file has
//! a twin of the same name, and the two differ only where the dialects must. Triggers are written
//! differently by nature (PostgreSQL runs a function, per statement; SQLite a body, per row), so
//! they live in files of their own, `*_triggers.sql`, twins by name only.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Where PostgreSQL and SQLite must be told differently, PostgreSQL's way first.
const DIALECT: &[(&str, &str)] = &[("BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT")];

/// The statements, without comments, blank lines or alignment, in SQLite's dialect.
fn statements(sql: &str, dialect: usize) -> String {
    let mut text: String = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or_default())
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    if dialect == 0 {
        for (postgres, sqlite) in DIALECT {
            text = text.replace(postgres, sqlite);
        }
    }
    text
}

fn sql_files(folder: &Path) -> BTreeSet<String> {
    fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .map(|entry| entry.expect("directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect()
}

fn crates_with_migrations() -> Vec<PathBuf> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found: Vec<PathBuf> = fs::read_dir(&crates)
        .expect("the crates folder")
        .map(|entry| entry.expect("directory entry").path().join("migrations"))
        .filter(|migrations| migrations.is_dir())
        .collect();
    found.sort();
    found
}

#[test]
fn each_postgres_migration_and_its_sqlite_twin_differ_only_in_dialect() {
    let crates = crates_with_migrations();
    assert!(
        crates.len() >= 4,
        "order, shipping, invoicing and consumer have migrations: {crates:?}"
    );
    for migrations in crates {
        let (postgres, sqlite) = (migrations.join("postgres"), migrations.join("sqlite"));
        let names = sql_files(&postgres);
        assert_eq!(
            names,
            sql_files(&sqlite),
            "{}: every migration needs a twin for the other backend",
            migrations.display()
        );
        for name in names.into_iter().filter(|name| !is_triggers(name)) {
            let read = |folder: &Path| fs::read_to_string(folder.join(&name)).expect("migration");
            assert_eq!(
                statements(&read(&postgres), 0),
                statements(&read(&sqlite), 1),
                "{}/{{postgres,sqlite}}/{name} differ beyond the dialect",
                migrations.display()
            );
        }
    }
}

/// A migration of triggers only, whose twins cannot share their text.
fn is_triggers(name: &str) -> bool {
    name.ends_with("_triggers.sql")
}

#[test]
fn the_normalisation_sees_a_real_difference() {
    let postgres = "CREATE TABLE t (\n  id BIGSERIAL PRIMARY KEY, -- the id\n  n BIGINT\n);";
    let sqlite = "CREATE TABLE t (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  n BIGINT\n);";
    assert_eq!(statements(postgres, 0), statements(sqlite, 1));
    assert_ne!(
        statements(postgres, 0),
        statements(&sqlite.replace("n BIGINT", "n TEXT"), 1)
    );
}
