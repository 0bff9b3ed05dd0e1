use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use orderflow_transport::Backoff;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::logs::LogMux;
use crate::{EXIT_WITH_PARENT_ENV, LOG_COLOR_ENV};

/// What to run for one child process.
#[derive(Debug, Clone)]
pub(crate) struct ProcessSpec {
    /// `order`, `shipping-2`, `broker`.
    pub(crate) name: String,
    pub(crate) executable: PathBuf,
    pub(crate) args: Vec<OsString>,
    /// `DATABASE_URL` for the child; `None` removes it (the child then uses SQLite files).
    pub(crate) database_url: Option<String>,
    /// More environment for the child (RabbitMQ's node takes its settings so).
    pub(crate) env: Vec<(OsString, OsString)>,
    /// Its position, for its log colour.
    pub(crate) index: usize,
}

/// What the resilience lab wants of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Desired {
    Running,
    /// Stopped from the lab: `kill` with SIGKILL (a crash), otherwise SIGTERM (a clean stop).
    /// It stays down, whatever the restart delay, until the lab starts it again.
    Stopped {
        kill: bool,
    },
}

/// One running child and the pipe that keeps it alive.
struct Running {
    child: Child,
    /// Held open while `up` runs: when it closes (`up` gone), the child stops itself.
    _lifeline: Option<ChildStdin>,
}

/// Starts `spec` and keeps it running until `stop` is cancelled: a child that exits is reported
/// and, with a restart delay, started again. Publishes the current pid on `pid`. `desired`
/// stops and starts it from the lab.
pub(crate) async fn supervise(
    spec: ProcessSpec,
    logs: LogMux,
    restart_delay: Option<Duration>,
    pid: watch::Sender<Option<u32>>,
    stop: CancellationToken,
    mut desired: watch::Receiver<Desired>,
) {
    // Fails again and again soon after starting: back off, from the restart delay up to 30 s.
    let mut backoff = restart_delay.map(|first| Backoff::new(first, Duration::from_secs(30)));
    let mut restarted = false;
    loop {
        // Stopped from the lab: wait to be started again.
        while matches!(*desired.borrow_and_update(), Desired::Stopped { .. }) {
            tokio::select! {
                changed = desired.changed() => if changed.is_err() { return },
                _ = stop.cancelled() => return,
            }
        }
        let started = tokio::time::Instant::now();
        let mut running = match spawn(&spec, &logs) {
            Ok(running) => running,
            Err(error) => {
                logs.say(&format!("{} could not be started: {error:#}", spec.name));
                return;
            }
        };
        if restarted {
            // The banner's pid is gone: say the new one, for the next experiment.
            let new_pid = running
                .child
                .id()
                .map(|p| p.to_string())
                .unwrap_or_default();
            logs.say(&format!("{} started again (pid {new_pid})", spec.name));
        }
        restarted = true;
        let _ = pid.send(running.child.id());
        let status = loop {
            tokio::select! {
                status = running.child.wait() => break status,
                _ = stop.cancelled() => {
                    terminate(&spec, &mut running.child, &logs).await;
                    let _ = pid.send(None);
                    return;
                }
                changed = desired.changed() => {
                    let wanted = *desired.borrow_and_update();
                    match (changed, wanted) {
                        (Ok(()), Desired::Stopped { kill }) => {
                            stop_from_lab(&spec, &mut running.child, kill, &logs).await;
                            break Ok(ExitStatus::default());
                        }
                        (Ok(()), Desired::Running) => continue,
                        // The lab is gone: only an exit or the shutdown end it now.
                        (Err(_), _) => tokio::select! {
                            status = running.child.wait() => break status,
                            _ = stop.cancelled() => {
                                terminate(&spec, &mut running.child, &logs).await;
                                let _ = pid.send(None);
                                return;
                            }
                        },
                    }
                }
            }
        };
        if matches!(*desired.borrow(), Desired::Stopped { .. }) {
            let _ = pid.send(None);
            continue;
        }
        let _ = pid.send(None);
        logs.say(&format!("{} exited: {}", spec.name, describe(status)));
        let Some(backoff) = backoff.as_mut() else {
            return;
        };
        // A child that ran for a minute failed anew, not again.
        if started.elapsed() >= Duration::from_secs(60) {
            backoff.reset();
        }
        let delay = backoff.next_delay();
        logs.say(&format!(
            "{} restarts in {} s (Ctrl-C stops everything)",
            spec.name,
            delay.as_secs()
        ));
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.cancelled() => return,
        }
    }
}

fn spawn(spec: &ProcessSpec, logs: &LogMux) -> anyhow::Result<Running> {
    let mut command = Command::new(&spec.executable);
    command
        .args(&spec.args)
        .env(EXIT_WITH_PARENT_ENV, "1")
        .env(LOG_COLOR_ENV, if logs.color() { "always" } else { "never" })
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A group of its own: Ctrl-C in the terminal reaches `up`, which stops children in order.
        .process_group(0)
        .kill_on_drop(true);
    if let Some(url) = &spec.database_url {
        command.env("DATABASE_URL", url);
    }
    command.envs(spec.env.iter().map(|(name, value)| (name, value)));
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot run {}", spec.executable.display()))?;
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(pipe_lines(
            stdout,
            spec.name.clone(),
            spec.index,
            logs.clone(),
        ));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(pipe_lines(
            stderr,
            spec.name.clone(),
            spec.index,
            logs.clone(),
        ));
    }
    let lifeline = child.stdin.take();
    Ok(Running {
        child,
        _lifeline: lifeline,
    })
}

async fn pipe_lines(stream: impl AsyncRead + Unpin, name: String, index: usize, logs: LogMux) {
    // Bytes, not `lines()`: one invalid UTF-8 byte must not end the child's log for good.
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                logs.line(&name, index, text.trim_end_matches(['\n', '\r']));
            }
            Err(_) => break,
        }
    }
}

/// What the lab asked for: a crash (SIGKILL) or a clean stop.
async fn stop_from_lab(spec: &ProcessSpec, child: &mut Child, kill: bool, logs: &LogMux) {
    let pid = child.id().map(|p| p.to_string()).unwrap_or_default();
    if kill {
        // The whole group: a child's own children (RabbitMQ's node) die with it, as in a crash.
        if let Some(id) = child.id() {
            let _ = killpg(Pid::from_raw(id as i32), Signal::SIGKILL);
        }
        let _ = child.kill().await;
        logs.say(&format!(
            "{} (pid {pid}) killed with SIGKILL from the lab; it stays down until started",
            spec.name
        ));
    } else {
        terminate(spec, child, logs).await;
        logs.say(&format!(
            "{} (pid {pid}) stopped from the lab; it stays down until started",
            spec.name
        ));
    }
}

/// SIGTERM, then SIGKILL if it has not stopped within 10 s.
async fn terminate(spec: &ProcessSpec, child: &mut Child, logs: &LogMux) {
    if let Some(id) = child.id() {
        let _ = kill(Pid::from_raw(id as i32), Signal::SIGTERM);
    }
    match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
        Ok(_) => {}
        Err(_) => {
            logs.say(&format!(
                "{} did not stop within 10 s; killing it",
                spec.name
            ));
            if let Some(id) = child.id() {
                let _ = killpg(Pid::from_raw(id as i32), Signal::SIGKILL);
            }
            let _ = child.kill().await;
        }
    }
}

fn describe(status: std::io::Result<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(0), _) => "status 0".to_owned(),
            (Some(code), _) => format!("status {code}"),
            (None, Some(signal)) => match Signal::try_from(signal) {
                Ok(signal) => format!("killed by {signal}"),
                Err(_) => format!("killed by signal {signal}"),
            },
            (None, None) => "unknown status".to_owned(),
        },
        Err(error) => format!("cannot tell ({error})"),
    }
}
