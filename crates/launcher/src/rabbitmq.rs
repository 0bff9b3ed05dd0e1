//! `up --transport amqp` without `--amqp-url`: a RabbitMQ node of `up`'s own (Debian's
//! `rabbitmq-server`), its data in the data folder, supervised like the embedded Kafka broker.

use std::ffi::OsString;
use std::path::Path;

use orderflow_amqp::node;

use crate::child::ProcessSpec;

/// A shell between `up` and the node: it passes SIGTERM on (a clean stop of the node), stops
/// the node when its stdin closes (`up` is gone, however it went), which the node itself would
/// not notice, and exits when the node exits, so that `up` sees a crash and restarts it. (A
/// background job's stdin is /dev/null in a script, hence the copy of stdin on fd 3 for the
/// watcher; it reads with the shell's own `read`, so that ending it ends the watch.)
const WRAPPER: &str = r#"exec 3<&0
"$0" & node=$!
(while read -r _ <&3; do :; done; kill -TERM "$node" 2>/dev/null) & watcher=$!
exec 3<&-
trap 'kill -TERM "$node" 2>/dev/null' TERM INT
wait "$node"; status=$?
wait "$node" 2>/dev/null
kill "$watcher" 2>/dev/null
exit "$status""#;

/// The node's process: AMQP on `port`, the Erlang distribution on a port beside it (RabbitMQ's
/// own convention: 20000 above), everything it keeps in `<data>/rabbitmq`.
pub(crate) fn node_spec(data_dir: &Path, port: u16) -> anyhow::Result<ProcessSpec> {
    anyhow::ensure!(node::installed(), "{}", node::NOT_INSTALLED);
    let dir = std::path::absolute(data_dir.join("rabbitmq"))?;
    std::fs::create_dir_all(&dir)?;
    let dist_port = port.checked_add(20000).unwrap_or_else(|| port - 20000);
    let server = node::node_command(port, dist_port, &dir);
    Ok(ProcessSpec {
        name: "rabbitmq".to_owned(),
        executable: "sh".into(),
        args: vec![
            "-c".into(),
            WRAPPER.into(),
            OsString::from(server.get_program()),
        ],
        database_url: None,
        env: server
            .get_envs()
            .filter_map(|(name, value)| Some((name.to_owned(), value?.to_owned())))
            .collect(),
        index: 0,
    })
}
