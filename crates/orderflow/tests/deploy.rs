//! The deployment descriptions (`Dockerfile`, `deploy/compose/compose.yaml`,
//! `deploy/kubernetes/*.yaml`) are validated, not run: Docker and Kubernetes cannot run where
//! orderflow is built. This test parses them and checks every subcommand, flag, environment
//! variable and port they name for an orderflow container against the CLI itself (`orderflow
//! <subcommand> --help`) and the directory of services, so that they cannot drift.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

const ORDERFLOW: &str = env!("CARGO_BIN_EXE_orderflow");

/// Variables a service reads that are no CLI option: logging and OpenTelemetry's own.
fn read_outside_the_cli(name: &str) -> bool {
    name == "RUST_LOG" || name.starts_with("OTEL_")
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What `orderflow <subcommand> --help` offers.
#[derive(Debug, Default)]
struct Options {
    flags: BTreeSet<String>,
    variables: BTreeSet<String>,
}

/// Every subcommand's options, read from the binary's help.
struct Cli(BTreeMap<String, Options>);

impl Cli {
    fn read() -> Cli {
        let top = help(&[]);
        let subcommands: Vec<String> = top
            .lines()
            .skip_while(|line| !line.starts_with("Commands:"))
            .skip(1)
            .take_while(|line| line.starts_with("  "))
            .filter_map(|line| line.split_whitespace().next())
            .filter(|name| *name != "help")
            .map(str::to_owned)
            .collect();
        assert!(
            subcommands.iter().any(|s| s == "shipping"),
            "subcommands from `orderflow --help`: {subcommands:?}"
        );
        Cli(subcommands
            .into_iter()
            .map(|subcommand| {
                let text = help(&[&subcommand]);
                (subcommand, Options::from_help(&text))
            })
            .collect())
    }

    /// What is wrong with running `args` (subcommand first) with `variables` set.
    fn problems(&self, place: &str, args: &[String], variables: &[String]) -> Vec<String> {
        let Some(subcommand) = args.first() else {
            return vec![format!("{place}: no subcommand")];
        };
        let Some(options) = self.0.get(subcommand) else {
            return vec![format!(
                "{place}: `orderflow {subcommand}` is no subcommand"
            )];
        };
        let mut problems = Vec::new();
        for arg in args.iter().filter(|a| a.starts_with("--")) {
            let flag = arg.split('=').next().unwrap_or(arg);
            if !options.flags.contains(flag) {
                problems.push(format!(
                    "{place}: `orderflow {subcommand}` has no flag {flag}"
                ));
            }
        }
        for variable in variables {
            if !options.variables.contains(variable) && !read_outside_the_cli(variable) {
                problems.push(format!(
                    "{place}: `orderflow {subcommand}` reads no environment variable {variable}"
                ));
            }
        }
        problems
    }
}

impl Options {
    fn from_help(text: &str) -> Options {
        let mut options = Options::default();
        for line in text.lines() {
            let line = line.trim_start();
            let line = line.strip_prefix("-h, ").unwrap_or(line);
            if let Some(flag) = line.strip_prefix("--") {
                let name: String = flag
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                options.flags.insert(format!("--{name}"));
            }
            let mut rest = line;
            while let Some(at) = rest.find("[env: ") {
                rest = &rest[at + 6..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                options.variables.insert(name);
            }
        }
        options
    }
}

fn help(args: &[&str]) -> String {
    let output = Command::new(ORDERFLOW)
        .args(args)
        .arg("--help")
        .output()
        .expect("orderflow runs");
    assert!(output.status.success(), "orderflow {args:?} --help failed");
    String::from_utf8(output.stdout).expect("help is text")
}

/// The port a service listens on when run with `args`: its `--port`, or its default.
fn port_of(args: &[String]) -> Option<u16> {
    if let Some(at) = args.iter().position(|a| a == "--port") {
        return args.get(at + 1).and_then(|p| p.parse().ok());
    }
    if let Some(port) = args.iter().find_map(|a| a.strip_prefix("--port=")) {
        return port.parse().ok();
    }
    match args.first().map(String::as_str) {
        Some("front-door") => Some(8080),
        Some(name) => orderflow_directory::named(name).map(|s| s.port),
        None => None,
    }
}

fn strings(yaml: &Yaml) -> Vec<String> {
    match yaml {
        Yaml::Array(items) => items.iter().filter_map(scalar).collect(),
        Yaml::String(line) => line.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

fn scalar(yaml: &Yaml) -> Option<String> {
    match yaml {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(n) => Some(n.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn keys(yaml: &Yaml) -> Vec<String> {
    yaml.as_hash()
        .map(|map| map.keys().filter_map(scalar).collect())
        .unwrap_or_default()
}

fn load(path: &Path) -> Vec<Yaml> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Is this an orderflow container (built from the repository, or its image)?
fn is_orderflow(image: Option<&str>, built: bool) -> bool {
    built || image.is_some_and(|image| image.contains("orderflow"))
}

/// The compose file's problems.
fn compose_problems(cli: &Cli, compose: &Yaml) -> (Vec<String>, BTreeSet<String>) {
    let mut problems = Vec::new();
    let mut subcommands = BTreeSet::new();
    let services = compose["services"].as_hash().expect("compose has services");
    for (name, service) in services {
        let name = scalar(name).unwrap_or_default();
        let built = !service["build"].is_badvalue();
        if !is_orderflow(service["image"].as_str(), built) {
            continue;
        }
        let place = format!("compose service {name}");
        let args = strings(&service["command"]);
        subcommands.extend(args.first().cloned());
        problems.extend(cli.problems(&place, &args, &keys(&service["environment"])));
        let Some(port) = port_of(&args) else {
            problems.push(format!("{place}: no port"));
            continue;
        };
        for published in strings(&service["ports"]) {
            let container = published.rsplit(':').next().unwrap_or_default();
            if container != port.to_string() {
                problems.push(format!("{place}: publishes {published}, listens on {port}"));
            }
        }
        for exposed in strings(&service["expose"]) {
            if exposed != port.to_string() {
                problems.push(format!("{place}: exposes {exposed}, listens on {port}"));
            }
        }
        let check = strings(&service["healthcheck"]["test"]).join(" ");
        if !check.is_empty() && !check.contains(&format!(":{port}/health")) {
            problems.push(format!(
                "{place}: its health check `{check}` is not /health on {port}"
            ));
        }
    }
    (problems, subcommands)
}

/// The Kubernetes manifests' problems, and the subcommands they run.
fn kubernetes_problems(cli: &Cli, documents: &[Yaml]) -> (Vec<String>, BTreeSet<String>) {
    let config_maps: BTreeMap<String, Vec<String>> = documents
        .iter()
        .filter(|d| d["kind"].as_str() == Some("ConfigMap"))
        .map(|d| {
            let name = d["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (name, keys(&d["data"]))
        })
        .collect();
    let mut problems = Vec::new();
    let mut subcommands = BTreeSet::new();
    let mut container_ports: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for deployment in documents
        .iter()
        .filter(|d| d["kind"].as_str() == Some("Deployment"))
    {
        let name = deployment["metadata"]["name"].as_str().unwrap_or_default();
        let containers = deployment["spec"]["template"]["spec"]["containers"]
            .as_vec()
            .cloned()
            .unwrap_or_default();
        for container in &containers {
            if !is_orderflow(container["image"].as_str(), false) {
                continue;
            }
            let place = format!("Deployment {name}");
            let mut args = strings(&container["command"]);
            if args.first().is_some_and(|c| c.ends_with("orderflow")) {
                args.remove(0);
            }
            args.extend(strings(&container["args"]));
            subcommands.extend(args.first().cloned());
            let mut variables: Vec<String> = container["env"]
                .as_vec()
                .map(|env| env.iter().filter_map(|e| scalar(&e["name"])).collect())
                .unwrap_or_default();
            for source in container["envFrom"].as_vec().cloned().unwrap_or_default() {
                let map = source["configMapRef"]["name"].as_str().unwrap_or_default();
                match config_maps.get(map) {
                    Some(keys) => variables.extend(keys.iter().cloned()),
                    None => problems.push(format!("{place}: no ConfigMap {map}")),
                }
            }
            problems.extend(cli.problems(&place, &args, &variables));
            let Some(port) = port_of(&args) else {
                problems.push(format!("{place}: no port"));
                continue;
            };
            let declared: BTreeSet<u16> = container["ports"]
                .as_vec()
                .map(|ports| {
                    ports
                        .iter()
                        .filter_map(|p| p["containerPort"].as_i64())
                        .filter_map(|p| u16::try_from(p).ok())
                        .collect()
                })
                .unwrap_or_default();
            if declared != BTreeSet::from([port]) {
                problems.push(format!(
                    "{place}: declares ports {declared:?}, listens on {port}"
                ));
            }
            for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
                let get = &container[probe]["httpGet"];
                if get.is_badvalue() {
                    continue;
                }
                if get["port"].as_i64() != Some(i64::from(port)) {
                    problems.push(format!(
                        "{place}: {probe} asks a port it does not listen on"
                    ));
                }
                let path = get["path"].as_str().unwrap_or_default();
                if !["/health", "/style.css"].contains(&path) {
                    problems.push(format!(
                        "{place}: {probe} asks {path}, which it does not serve"
                    ));
                }
            }
            if container["readinessProbe"]["httpGet"]["path"].as_str() != Some("/health")
                && args.first().map(String::as_str) != Some("front-door")
            {
                problems.push(format!("{place}: readiness is not /health"));
            }
            container_ports.insert(name.to_owned(), BTreeSet::from([port]));
        }
    }
    for service in documents
        .iter()
        .filter(|d| d["kind"].as_str() == Some("Service"))
    {
        let name = service["metadata"]["name"].as_str().unwrap_or_default();
        let Some(ports) = container_ports.get(name) else {
            problems.push(format!(
                "Service {name}: no orderflow Deployment of that name"
            ));
            continue;
        };
        for port in service["spec"]["ports"]
            .as_vec()
            .cloned()
            .unwrap_or_default()
        {
            let target = port["targetPort"]
                .as_i64()
                .and_then(|p| u16::try_from(p).ok());
            if !target.is_some_and(|t| ports.contains(&t)) {
                problems.push(format!(
                    "Service {name}: targetPort {target:?} is not {ports:?}"
                ));
            }
        }
    }
    (problems, subcommands)
}

/// The Strimzi topics: the ones orderflow uses, shaped as orderflow creates them.
fn topic_problems(documents: &[Yaml]) -> Vec<String> {
    let topics: BTreeMap<String, &Yaml> = documents
        .iter()
        .filter(|d| d["kind"].as_str() == Some("KafkaTopic"))
        .map(|d| {
            let name = d["spec"]["topicName"]
                .as_str()
                .or(d["metadata"]["name"].as_str())
                .unwrap_or_default();
            (name.to_owned(), d)
        })
        .collect();
    let expected = [
        orderflow_events::ORDER_TOPIC,
        orderflow_events::ORDER_STATE_TOPIC,
        orderflow_events::ORDER_DEAD_LETTER_TOPIC,
        orderflow_events::ORDER_SCHEMAS_TOPIC,
    ];
    let mut problems = Vec::new();
    if topics.keys().map(String::as_str).collect::<BTreeSet<_>>() != BTreeSet::from(expected) {
        problems.push(format!(
            "KafkaTopics {:?}, orderflow uses {expected:?}",
            topics.keys().collect::<Vec<_>>()
        ));
    }
    for name in [
        orderflow_events::ORDER_TOPIC,
        orderflow_events::ORDER_STATE_TOPIC,
    ] {
        if let Some(topic) = topics.get(name)
            && topic["spec"]["partitions"].as_i64()
                != Some(i64::from(orderflow_events::ORDER_TOPIC_PARTITIONS))
        {
            problems.push(format!(
                "KafkaTopic {name}: not {} partitions",
                orderflow_events::ORDER_TOPIC_PARTITIONS
            ));
        }
    }
    for name in [
        orderflow_events::ORDER_STATE_TOPIC,
        orderflow_events::ORDER_SCHEMAS_TOPIC,
    ] {
        let Some(topic) = topics.get(name) else {
            continue;
        };
        for (key, value) in orderflow_kafka::COMPACTED {
            let configured = scalar(&topic["spec"]["config"][key]);
            if configured.as_deref() != Some(value) {
                problems.push(format!(
                    "KafkaTopic {name}: {key} is {configured:?}, orderflow creates it with {value}"
                ));
            }
        }
    }
    problems
}

fn kubernetes_documents() -> Vec<Yaml> {
    let folder = repository().join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files.iter().flat_map(|path| load(path)).collect()
}

fn assert_none(problems: &[String]) {
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_compose_file_names_only_what_the_cli_has() {
    let cli = Cli::read();
    let compose = load(&repository().join("deploy/compose/compose.yaml"));
    let (problems, subcommands) = compose_problems(&cli, &compose[0]);
    assert_none(&problems);
    for service in ["order", "shipping", "invoicing", "front-door"] {
        assert!(subcommands.contains(service), "compose runs no {service}");
    }
}

#[test]
fn the_kubernetes_manifests_name_only_what_the_cli_has() {
    let cli = Cli::read();
    let documents = kubernetes_documents();
    let (mut problems, subcommands) = kubernetes_problems(&cli, &documents);
    problems.extend(topic_problems(&documents));
    assert_none(&problems);
    for service in ["order", "shipping", "invoicing", "bonus", "front-door"] {
        assert!(
            subcommands.contains(service),
            "Kubernetes runs no {service}"
        );
    }
}

#[test]
fn the_dockerfile_builds_the_executable_and_exposes_every_services_port() {
    let dockerfile = std::fs::read_to_string(repository().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("cargo build --release --locked -p orderflow"));
    assert!(dockerfile.contains(r#"ENTRYPOINT ["orderflow"]"#));
    let exposed: BTreeSet<u16> = dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix("EXPOSE "))
        .flat_map(|ports| ports.split_whitespace().filter_map(|p| p.parse().ok()))
        .collect();
    let mut ports: BTreeSet<u16> = orderflow_directory::ALL.iter().map(|s| s.port).collect();
    ports.insert(8080);
    assert_eq!(exposed, ports);
}

#[test]
fn a_misspelled_flag_variable_or_port_is_caught() {
    let cli = Cli::read();
    let compose = YamlLoader::load_from_str(
        r#"
services:
  shipping:
    build: ../..
    command: [shipping, --bind, 0.0.0.0, --port, "8082", --kafka-broker, "k:9092"]
    environment:
      KAFKA_BROKER: k:9092
      ORDERFLOW_KAFKA_REPLICATION_FACTOR: "3"
    ports: ["8082:8092"]
  nginx:
    image: nginx
    command: [nginx, --whatever]
"#,
    )
    .unwrap();
    let (problems, _) = compose_problems(&cli, &compose[0]);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0].contains("no flag --kafka-broker"),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("no environment variable KAFKA_BROKER"),
        "{problems:?}"
    );
    assert!(problems[2].contains("publishes 8082:8092"), "{problems:?}");
}
