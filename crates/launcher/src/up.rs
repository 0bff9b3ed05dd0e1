use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use orderflow_directory::Service;
use orderflow_front_door::{FrontDoor, FrontDoorSettings, Upstream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::UpSettings;
use crate::child::ProcessSpec;
use crate::lab::{Supervisor, UpLab, service_args, service_env};
use crate::logs::LogMux;

/// One service instance `up` runs.
struct Instance {
    service: &'static Service,
    label: String,
    name: String,
    port: u16,
}

/// Runs the whole system until `shutdown` is cancelled (Ctrl-C), then stops it in order.
pub async fn up(settings: UpSettings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data folder {}",
            settings.data_dir.display()
        )
    })?;
    let instances = plan_instances(&settings)?;
    let logs = LogMux::new(
        instances
            .iter()
            .map(|i| i.name.len())
            .max()
            .unwrap_or(6)
            .max(9),
    );
    let restart = settings.restart_delay;

    // The broker first: everything else talks to it.
    let mut broker = None;
    let mut broker_pid = None;
    let brokers = if let Some(amqp) = &settings.amqp {
        match &amqp.url {
            Some(url) => url.clone(),
            None => {
                ensure_free(amqp.port, "--amqp-port")?;
                let spec = crate::rabbitmq::node_spec(&settings.data_dir, amqp.port)?;
                let supervisor = Arc::new(Supervisor::new(logs.clone(), restart));
                broker_pid = Some(supervisor.start(spec, None));
                broker = Some(supervisor);
                let url = orderflow_amqp::node::node_url(amqp.port);
                orderflow_amqp::node::wait_until_ready(&url, Duration::from_secs(90))
                    .await
                    .map_err(|error| anyhow::anyhow!("RabbitMQ did not start: {error}"))?;
                url
            }
        }
    } else {
        match (&settings.kafka_brokers, &settings.broker_executable) {
            _ if settings.feed => String::new(),
            (Some(brokers), _) => brokers.clone(),
            (None, None) => {
                bail!("no Kafka: pass --kafka-brokers, or build orderflow with its embedded broker")
            }
            (None, Some(executable)) => {
                let port = settings.ports.broker;
                ensure_free(port, "--broker-port")?;
                let spec = ProcessSpec {
                    name: "kafka".to_owned(),
                    executable: executable.clone(),
                    database_url: None,
                    env: Vec::new(),
                    args: vec![
                        "--port".into(),
                        port.to_string().into(),
                        "--data-dir".into(),
                        settings.data_dir.clone().into(),
                    ],
                    index: 0,
                };
                let supervisor = Arc::new(Supervisor::new(logs.clone(), restart));
                broker_pid = Some(supervisor.start(spec, None));
                broker = Some(supervisor);
                wait_for_port(port, Duration::from_secs(30))
                    .await
                    .context("the embedded Kafka broker did not start")?;
                format!("127.0.0.1:{port}")
            }
        }
    };

    // The services, each its own process.
    let services = Arc::new(Supervisor::new(logs.clone(), restart));
    let mut pids = Vec::new();
    for (index, instance) in instances.iter().enumerate() {
        let spec = ProcessSpec {
            name: instance.name.clone(),
            executable: settings.executable.clone(),
            args: service_args(&settings, instance.service, instance.port, &brokers),
            // Through the environment, not the command line: `ps` shows arguments to everyone,
            // and a database URL may carry a password.
            database_url: settings.database_url.clone(),
            env: service_env(&settings, &brokers),
            index: index + 1,
        };
        pids.push(services.start(spec, Some(instance.service)));
    }

    // The front door, in this process. A consumer `up` does not run is routed all the same, at
    // its port: started later (`orderflow bonus`, or the lab), it shows up on the home page.
    let mut upstreams: Vec<Upstream> = instances
        .iter()
        .map(|i| Upstream {
            label: i.label.clone(),
            ..Upstream::local(i.service, i.port)
        })
        .collect();
    for service in orderflow_directory::consumers() {
        if settings.scale.count(service) == 0 {
            upstreams.push(Upstream {
                required: false,
                ..Upstream::local(service, settings.ports.of(service))
            });
        }
    }
    let lab = UpLab {
        settings: settings.clone(),
        brokers: brokers.clone(),
        broker: broker.clone(),
        services: Arc::clone(&services),
    };
    let front_door_settings = FrontDoorSettings {
        bind: settings.bind,
        upstreams,
        lab: Some(Arc::new(lab)),
        ..FrontDoorSettings::local(settings.ports.front_door)
    };
    let front_door = FrontDoor::build(front_door_settings).await?;
    let front_door_port = front_door.port();
    let front_door_stop = CancellationToken::new();
    let front_door_task = tokio::spawn(front_door.run_until(front_door_stop.clone()));

    let ready = tokio::select! {
        ready = wait_until_healthy(&instances, Duration::from_secs(60)) => ready,
        _ = shutdown.cancelled() => Ok(()),
    };
    match ready {
        Ok(()) if !shutdown.is_cancelled() => {
            print_banner(
                &logs,
                &settings,
                &instances,
                &pids,
                &kafka_summary(&settings, &brokers, broker_pid.as_ref()),
                front_door_port,
                started.elapsed(),
            );
        }
        Ok(()) => {}
        Err(error) => logs.say(&format!(
            "not every service became healthy: {error:#}; still trying"
        )),
    }

    shutdown.cancelled().await;
    logs.say("stopping: services first, then the broker");
    services.stop_all().await;
    front_door_stop.cancel();
    let _ = front_door_task.await;
    if let Some(broker) = broker {
        broker.stop_all().await;
    }
    logs.say("stopped");
    Ok(())
}

/// Names and ports of every instance; extra instances get free ports.
fn plan_instances(settings: &UpSettings) -> anyhow::Result<Vec<Instance>> {
    let ports = &settings.ports;
    ensure_free(ports.front_door, "--port")?;
    let mut instances = Vec::new();
    for service in orderflow_directory::ALL {
        let count = match service.is_consumer() {
            true => settings.scale.count(service),
            false => 1,
        };
        for n in 1..=count {
            let port = if n == 1 {
                let option = format!("--service-port {}=<port>", service.name);
                ensure_free(ports.of(service), &option)?
            } else {
                free_port()?
            };
            let (label, name) = if count == 1 {
                (service.name.to_owned(), service.name.to_owned())
            } else {
                (
                    format!("{} #{n}", service.name),
                    format!("{}-{n}", service.name),
                )
            };
            instances.push(Instance {
                service,
                label,
                name,
                port,
            });
        }
    }
    Ok(instances)
}

fn ensure_free(port: u16, option: &str) -> anyhow::Result<u16> {
    match TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(port),
        Err(error) => bail!(
            "port {port} is not free ({error}); is another orderflow running? Choose another with {option}"
        ),
    }
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

pub(crate) async fn wait_for_port(port: u16, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("nothing listens on port {port} after {timeout:?}")
}

/// Waits until every instance answers `GET /health` with 200.
async fn wait_until_healthy(instances: &[Instance], timeout: Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + timeout;
    for instance in instances {
        let url = format!("http://127.0.0.1:{}/health", instance.port);
        loop {
            match client.get(&url).send().await {
                Ok(response) if response.status().is_success() => break,
                _ if Instant::now() >= deadline => {
                    bail!("{} is not healthy at {url}", instance.name)
                }
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
    Ok(())
}

fn print_banner(
    logs: &LogMux,
    settings: &UpSettings,
    instances: &[Instance],
    pids: &[watch::Receiver<Option<u32>>],
    kafka: &str,
    front_door_port: u16,
    elapsed: Duration,
) {
    logs.say(&format!(
        "orderflow is up after {} ms:",
        elapsed.as_millis()
    ));
    logs.say(&format!(
        "  {:<14} http://localhost:{front_door_port}/",
        "front door"
    ));
    for (instance, pid) in instances.iter().zip(pids) {
        let pid = pid
            .borrow()
            .map(|p| format!("  (pid {p})"))
            .unwrap_or_default();
        logs.say(&format!(
            "  {:<14} http://localhost:{}/{pid}",
            instance.label, instance.port
        ));
    }
    for service in orderflow_directory::consumers() {
        if settings.scale.count(service) == 0 {
            logs.say(&format!(
                "  {:<14} not started: `orderflow {}` joins at any time, at http://localhost:{}/",
                service.name,
                service.name,
                settings.ports.of(service)
            ));
        }
    }
    let broker = if settings.amqp.is_some() {
        "rabbitmq"
    } else {
        "kafka"
    };
    logs.say(&format!("  {broker:<14} {kafka}"));
    let database = match &settings.database_url {
        Some(_) => "PostgreSQL (--database-url)".to_owned(),
        None => format!("SQLite files in {}", settings.data_dir.display()),
    };
    logs.say(&format!("  {:<14} {database}", "data"));
    logs.say("Ctrl-C stops everything.");
}

/// The banner's Kafka line: where it is, and the embedded broker's pid.
fn kafka_summary(
    settings: &UpSettings,
    brokers: &str,
    broker_pid: Option<&watch::Receiver<Option<u32>>>,
) -> String {
    let pid = broker_pid
        .and_then(|pid| *pid.borrow())
        .map(|p| format!("  (pid {p})"))
        .unwrap_or_default();
    if let Some(amqp) = &settings.amqp {
        let queues = format!("{} queues", amqp.queue_type);
        return match &amqp.url {
            Some(_) => format!("{} (external), {queues}", redact(brokers)),
            None => format!(
                "{} (a node of its own, {}), {queues}{pid}",
                redact(brokers),
                settings.data_dir.join("rabbitmq").display()
            ),
        };
    }
    match &settings.kafka_brokers {
        Some(_) => format!("{brokers} (external)"),
        None => format!(
            "{brokers} (embedded Tansu, {}){}",
            settings.data_dir.join("broker.db").display(),
            broker_pid
                .and_then(|pid| *pid.borrow())
                .map(|p| format!("  (pid {p})"))
                .unwrap_or_default()
        ),
    }
}

/// An AMQP URL without its password.
fn redact(url: &str) -> String {
    orderflow_amqp::AmqpSettings::new(url).redacted_url()
}
