//! Finding (and on a first `cargo run`, building) the `orderflow-broker` executable.
//!
//! The embedded broker is an executable of its own because Tansu's SQLite (libsql) and the
//! services' SQLite (sqlx's libsqlite3-sys) each bundle SQLite's C amalgamation: linked into one
//! binary, they collide (`rust-lld: error: duplicate symbol: sqlite3_version`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The broker executable's file name.
pub const BROKER_BINARY: &str = "orderflow-broker";

/// `orderflow-broker` next to `orderflow`. When it is missing and `orderflow` was started by
/// `cargo run` (which builds only the binary it runs), builds it with the same cargo, profile
/// and target folder, printing cargo's progress.
pub fn locate_or_build(orderflow: &Path) -> anyhow::Result<PathBuf> {
    let folder = orderflow
        .parent()
        .context("the orderflow executable has no folder")?;
    let broker = folder.join(BROKER_BINARY);
    if broker.exists() {
        return Ok(broker);
    }
    let (Some(cargo), Some(manifest_dir)) = (
        std::env::var_os("CARGO"),
        std::env::var_os("CARGO_MANIFEST_DIR"),
    ) else {
        bail!(
            "{} is missing next to {}: build it with `cargo build --release -p orderflow` (it builds both executables)",
            broker.display(),
            orderflow.display()
        );
    };
    let profile = folder
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("debug");
    let profile = if profile == "debug" { "dev" } else { profile };
    let target_dir = folder
        .parent()
        .context("the orderflow executable is not in a cargo target folder")?;
    eprintln!(
        "Building the embedded Kafka broker ({BROKER_BINARY}); only the first run does this, and it takes a few minutes..."
    );
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--profile",
            profile,
            "--bin",
            BROKER_BINARY,
            "--manifest-path",
        ])
        .arg(Path::new(&manifest_dir).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .context("cannot run cargo to build the embedded broker")?;
    if !status.success() || !broker.exists() {
        bail!("building {BROKER_BINARY} failed ({status})");
    }
    Ok(broker)
}
