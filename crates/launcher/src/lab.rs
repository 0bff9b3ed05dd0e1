//! The processes `up` supervises, and the resilience lab the front door's live page drives
//! through them: stop, kill and start any of them, add a consumer instance.

use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orderflow_directory::Service;
use orderflow_front_door::{Lab, LabAction, LabError, LabProcess, ProcessState, Upstream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::UpSettings;
use crate::child::{Desired, ProcessSpec, supervise};
use crate::logs::LogMux;

/// One supervised process, as the lab controls it.
#[derive(Debug)]
struct Controlled {
    name: String,
    service: Option<&'static Service>,
    pid: watch::Receiver<Option<u32>>,
    desired: watch::Sender<Desired>,
}

/// A group of processes stopped together (the services; the broker after them).
#[derive(Debug)]
pub(crate) struct Supervisor {
    logs: LogMux,
    restart_delay: Option<Duration>,
    tracker: TaskTracker,
    stop: CancellationToken,
    processes: Mutex<Vec<Controlled>>,
}

impl Supervisor {
    pub(crate) fn new(logs: LogMux, restart_delay: Option<Duration>) -> Self {
        Supervisor {
            logs,
            restart_delay,
            tracker: TaskTracker::new(),
            stop: CancellationToken::new(),
            processes: Mutex::new(Vec::new()),
        }
    }

    /// Starts `spec` and keeps it running; returns its pid as it changes.
    pub(crate) fn start(
        &self,
        spec: ProcessSpec,
        service: Option<&'static Service>,
    ) -> watch::Receiver<Option<u32>> {
        let (pid, pid_watch) = watch::channel(None);
        let (desired, desired_watch) = watch::channel(Desired::Running);
        self.lock().push(Controlled {
            name: spec.name.clone(),
            service,
            pid: pid_watch.clone(),
            desired,
        });
        self.tracker.spawn(supervise(
            spec,
            self.logs.clone(),
            self.restart_delay,
            pid,
            self.stop.clone(),
            desired_watch,
        ));
        pid_watch
    }

    /// Stops every process of the group and waits until they are gone.
    pub(crate) async fn stop_all(&self) {
        self.stop.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Controlled>> {
        self.processes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn snapshot(&self) -> Vec<LabProcess> {
        self.lock()
            .iter()
            .map(|process| {
                let pid = *process.pid.borrow();
                let state = match (*process.desired.borrow(), pid) {
                    (Desired::Stopped { .. }, _) => ProcessState::Stopped,
                    (Desired::Running, Some(_)) => ProcessState::Running,
                    (Desired::Running, None) => ProcessState::Exited,
                };
                LabProcess {
                    name: process.name.clone(),
                    service: process.service.map(|s| s.name),
                    pid,
                    state,
                }
            })
            .collect()
    }

    fn count(&self, service: &Service) -> usize {
        self.lock()
            .iter()
            .filter(|p| p.service == Some(service))
            .count()
    }

    /// Asks process `name` to be `wanted`; its pid, to wait on, or `None` if it is not here.
    fn ask(
        &self,
        name: &str,
        wanted: Desired,
    ) -> Option<Result<watch::Receiver<Option<u32>>, LabError>> {
        let processes = self.lock();
        let process = processes.iter().find(|p| p.name == name)?;
        let now = *process.desired.borrow();
        let already = match (now, wanted) {
            (Desired::Stopped { .. }, Desired::Stopped { .. }) => Some("is stopped already"),
            (Desired::Running, Desired::Running) if process.pid.borrow().is_some() => {
                Some("runs already")
            }
            _ => None,
        };
        if let Some(already) = already {
            return Some(Err(LabError::Refused(format!("{name} {already}"))));
        }
        process.desired.send_replace(wanted);
        Some(Ok(process.pid.clone()))
    }
}

/// The lab of one `orderflow up`.
#[derive(Debug)]
pub(crate) struct UpLab {
    pub(crate) settings: UpSettings,
    /// Where the services find Kafka (empty in feed mode).
    pub(crate) brokers: String,
    pub(crate) broker: Option<Arc<Supervisor>>,
    pub(crate) services: Arc<Supervisor>,
}

#[async_trait]
impl Lab for UpLab {
    fn processes(&self) -> Vec<LabProcess> {
        let mut processes = self
            .broker
            .as_ref()
            .map(|b| b.snapshot())
            .unwrap_or_default();
        processes.extend(self.services.snapshot());
        processes
    }

    async fn act(&self, name: &str, action: LabAction) -> Result<String, LabError> {
        let wanted = match action {
            LabAction::Stop => Desired::Stopped { kill: false },
            LabAction::Kill => Desired::Stopped { kill: true },
            LabAction::Start => Desired::Running,
        };
        let asked = self
            .broker
            .iter()
            .chain(std::iter::once(&self.services))
            .find_map(|group| group.ask(name, wanted))
            .ok_or_else(|| LabError::NoSuchProcess(name.to_owned()))?;
        let mut pid = asked?;
        // A clean stop may take the child up to 10 s (then it is killed); a start, a moment.
        let outcome = tokio::time::timeout(
            Duration::from_secs(15),
            pid.wait_for(|pid| pid.is_some() == (wanted == Desired::Running)),
        )
        .await;
        let pid = match outcome {
            Ok(Ok(pid)) => *pid,
            _ => {
                return Err(LabError::Failed(format!(
                    "{name} did not {} in time; see the log",
                    if wanted == Desired::Running {
                        "start"
                    } else {
                        "stop"
                    }
                )));
            }
        };
        Ok(match action {
            LabAction::Stop => format!("{name} stopped (SIGTERM)"),
            LabAction::Kill => format!("{name} killed (SIGKILL), as a crash would"),
            LabAction::Start => format!("{name} started (pid {})", pid.unwrap_or_default()),
        })
    }

    async fn add_instance(&self, service: &'static Service) -> Result<Upstream, LabError> {
        let n = self.services.count(service) + 1;
        let (name, label, port) = match n {
            // A consumer `up` did not start: at its own port, where the front door routes it.
            1 => (
                service.name.to_owned(),
                service.name.to_owned(),
                self.settings.ports.of(service),
            ),
            n => (
                format!("{}-{n}", service.name),
                format!("{} #{n}", service.name),
                crate::up::free_port().map_err(|e| LabError::Failed(format!("{e:#}")))?,
            ),
        };
        if self.services.lock().iter().any(|p| p.name == name) {
            return Err(LabError::Refused(format!("{name} runs already")));
        }
        let spec = ProcessSpec {
            name: name.clone(),
            executable: self.settings.executable.clone(),
            args: service_args(&self.settings, service, port, &self.brokers),
            database_url: self.settings.database_url.clone(),
            env: service_env(&self.settings, &self.brokers),
            index: self.processes().len() + 1,
        };
        self.services.start(spec, Some(service));
        crate::up::wait_for_port(port, Duration::from_secs(30))
            .await
            .map_err(|e| LabError::Failed(format!("{name} did not start: {e:#}")))?;
        Ok(Upstream {
            label,
            required: false,
            ..Upstream::local(service, port)
        })
    }
}

/// The environment of one service instance under `up`, besides `DATABASE_URL`: RabbitMQ's URL
/// (not an argument, which `ps` shows to everyone).
pub(crate) fn service_env(settings: &UpSettings, brokers: &str) -> Vec<(OsString, OsString)> {
    match &settings.amqp {
        Some(_) => vec![("AMQP_URL".into(), brokers.into())],
        None => Vec::new(),
    }
}

/// The command line of one service instance under `up`.
pub(crate) fn service_args(
    settings: &UpSettings,
    service: &Service,
    port: u16,
    brokers: &str,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        service.name.into(),
        "--port".into(),
        port.to_string().into(),
        "--data-dir".into(),
        settings.data_dir.clone().into(),
    ];
    if settings.feed {
        args.extend(["--transport".into(), "feed".into()]);
        if service.is_consumer() {
            args.extend([
                "--feed-url".into(),
                format!(
                    "http://127.0.0.1:{}/feed",
                    settings.ports.of(&orderflow_directory::ORDER)
                )
                .into(),
            ]);
        }
    } else if let Some(amqp) = &settings.amqp {
        // The URL (it may hold a password) goes in the environment: `service_env`.
        args.extend([
            "--transport".into(),
            "amqp".into(),
            "--amqp-queue-type".into(),
            amqp.queue_type.clone().into(),
        ]);
    } else {
        args.extend(["--kafka-brokers".into(), brokers.into()]);
    }
    if service == &orderflow_directory::ORDER {
        args.extend(settings.order_flags.iter().map(OsString::from));
    }
    args
}
