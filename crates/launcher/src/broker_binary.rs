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
/// and target folder, printing cargo's progress: seconds, because `cargo run` compiled the
/// broker's library already and only the executable is left to link.
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
    // Its code is compiled already (a dependency of `orderflow`): this links the executable.
    eprintln!(
        "Linking the embedded Kafka broker ({BROKER_BINARY}); only the first run does this..."
    );
    let mut command = std::process::Command::new(cargo);
    // `cargo run` gave this process the variables of the package it runs. Passed on, they look
    // like a changed environment to build scripts that watch them (ring's watches
    // CARGO_MANIFEST_DIR), and cargo would rebuild half the dependencies twice: now, and again
    // at the next plain `cargo build`.
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_run) {
            command.env_remove(&name);
        }
    }
    let status = command
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

/// Whether `cargo run` sets this variable for the program it runs (and only for it).
fn set_by_cargo_run(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_variables_of_cargo_run_are_not_passed_on_but_cargo_settings_are() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
        ] {
            assert!(set_by_cargo_run(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_PROFILE_RELEASE_LTO",
            "PATH",
        ] {
            assert!(!set_by_cargo_run(name), "{name}");
        }
    }
}
