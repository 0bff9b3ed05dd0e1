# shellcheck shell=bash
# Shared by `up`, `down` and `faults`: the address plan and the functions that build, run and
# tear down the local cluster. Sourced, not run. Everything it starts is recorded under
# $run_dir/pids, so that `down` stops exactly what was started here and nothing else.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

run_dir=${ORDERFLOW_CLUSTER_DIR:-/tmp/orderflow-cluster}
cache=${ORDERFLOW_CACHE:-/var/cache/orderflow}
export ORDERFLOW_KAFKA_LIBS=${ORDERFLOW_KAFKA_LIBS:-$cache/kafka-libs}
pg_bin=${ORDERFLOW_PG_BIN:-/usr/lib/postgresql/15/bin}

# --- The address plan -------------------------------------------------------------------------
# One bridge in the root namespace (the "switch", which also holds the address load and check
# use), one namespace per host, each joined to the bridge by a veth pair. The namespaces and
# the root-side veth ends carry the prefix `of-`, so that `down` can find and delete them (and
# nothing else) even when the run folder is gone.
prefix=of-
bridge=ofbr0
subnet=10.77.0
bridge_addr=$subnet.1
declare -A host_addr=(
  [kafka1]=$subnet.11 [kafka2]=$subnet.12 [kafka3]=$subnet.13
  [db]=$subnet.20
  [order]=$subnet.31
  [shipping1]=$subnet.41 [shipping2]=$subnet.42
  [invoicing]=$subnet.51
)
hosts=(kafka1 kafka2 kafka3 db order shipping1 shipping2 invoicing)
brokers=(kafka1 kafka2 kafka3)
kafka_port=9092
controller_port=9093
pg_port=5432
db_name=orderflow_cluster
db_user=orderflow_cluster
# service instance -> "subcommand port": each instance is `orderflow <subcommand>` on its host.
declare -A service_of=(
  [order]="order 8081" [shipping1]="shipping 8082" [shipping2]="shipping 8082"
  [invoicing]="invoicing 8083"
)
# shellcheck disable=SC2034 # used by up, down and faults
services=(order shipping1 shipping2 invoicing)

kafka_bootstrap() {
  local list=() b
  for b in "${brokers[@]}"; do list+=("${host_addr[$b]}:$kafka_port"); done
  (IFS=,; echo "${list[*]}")
}

service_url() { # service_url <instance> -> http://addr:port
  local port=${service_of[$1]#* }
  echo "http://${host_addr[$1]}:$port"
}

# --- Small helpers ----------------------------------------------------------------------------
say() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }
now_ms() { date +%s%3N; }

# The orderflow executable: $ORDERFLOW_BIN, else the release build under $CARGO_TARGET_DIR (or
# ./target of the repository).
orderflow_bin() {
  local bin=${ORDERFLOW_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/orderflow}
  [ -x "$bin" ] || fail "no orderflow executable at $bin (build it, or set ORDERFLOW_BIN)"
  echo "$bin"
}

# Runs a command in host $1's namespace.
on() { local host=$1; shift; ip netns exec "$prefix$host" "$@"; }

# wait_until <seconds> <what> <command...>: polls the command every half second until it
# succeeds; fails with <what> after the deadline.
wait_until() {
  local secs=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { say "timed out after ${secs}s waiting for $what"; return 1; }
    sleep 0.5
  done
}

# wait_for_process <seconds> <what> <process name> <command...>: as wait_until, but gives up at
# once when the process it waits for has exited (a bad flag, a port taken), with the reason.
wait_for_process() {
  local secs=$1 what=$2 name=$3 deadline
  shift 3
  deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    alive "$name" || { say "$name exited while waiting for $what"; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { say "timed out after ${secs}s waiting for $what"; return 1; }
    sleep 0.5
  done
}

pid_file() { echo "$run_dir/pids/$1.pid"; }
pid_of() { local f; f=$(pid_file "$1"); [ -f "$f" ] && cat "$f"; }
alive() { local pid; pid=$(pid_of "$1") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

# start_process <name> <host> <log> <command...>: runs the command in the background in the
# host's namespace, in a session of its own (a closed terminal or a Ctrl-C does not reach it;
# `down` stops it), and records its pid. `ip netns exec` and `setsid` exec the command
# themselves, so $! is the process (the JVM, postgres, orderflow), not a wrapper.
start_process() {
  local name=$1 host=$2 log=$3
  shift 3
  mkdir -p "$run_dir/pids"
  ip netns exec "$prefix$host" setsid "$@" </dev/null >>"$log" 2>&1 &
  echo $! >"$(pid_file "$name")"
}

# Whether pid $1 is a process in one of our namespaces: a recorded pid whose process died long
# ago may have been reused by something else, which must not be signalled.
ours() { [[ "$(ip netns identify "$1" 2>/dev/null)" == "$prefix"* ]]; }

# stop_processes <signal> <grace seconds> <name...>: signals each recorded process at once (so
# that brokers shut down together rather than each waiting for a quorum the others took away),
# waits for them to go, then kills what is left. Only ever the pids recorded here.
stop_processes() {
  local signal=$1 grace=$2 name pid deadline pids=() left
  shift 2
  for name in "$@"; do
    pid=$(pid_of "$name") || continue
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && ours "$pid"; then
      kill "-$signal" "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  deadline=$((SECONDS + grace))
  while :; do
    left=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
    if [ "${#left[@]}" -eq 0 ] || [ "$SECONDS" -ge "$deadline" ]; then break; fi
    sleep 0.2
  done
  for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  # Reap our children, so that none lingers as a zombie.
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for name in "$@"; do rm -f "$(pid_file "$name")"; done
}
stop_process() { stop_processes "${2:-TERM}" "${3:-15}" "$1"; }

# kill -9, as a crash: no shutdown at all.
crash() {
  local pid
  pid=$(pid_of "$1") || fail "$1 is not running"
  { [ -n "$pid" ] && ours "$pid"; } || fail "$1 is not running"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$(pid_file "$1")"
}

# --- Network ----------------------------------------------------------------------------------
net_up() {
  ip link add "$bridge" type bridge
  # No spanning tree and no forwarding delay: a port that comes back up forwards at once, so
  # a healed partition is healed when `ip link set up` returns.
  ip link set "$bridge" type bridge stp_state 0 forward_delay 0
  ip addr add "$bridge_addr/24" dev "$bridge"
  ip link set "$bridge" up
  local host
  for host in "${hosts[@]}"; do
    ip netns add "$prefix$host"
    ip link add "$prefix$host" type veth peer name eth0 netns "$prefix$host"
    ip link set "$prefix$host" master "$bridge" up
    on "$host" ip link set lo up
    on "$host" ip addr add "${host_addr[$host]}/24" dev eth0
    on "$host" ip link set eth0 up
  done
}

# Removes every namespace and link with our prefix, and the bridge. Safe when none exist.
net_down() {
  local ns link
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$prefix" || true); do
    ip netns del "$ns" 2>/dev/null || true
  done
  # Deleting a namespace deletes its veth end and with it the pair; these are leftovers.
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$prefix" || true); do
    ip link del "$link" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
}

# A host's cable: its veth end at the bridge. Down is a real partition: packets to and from the
# host are dropped, TCP connections stall and time out, as when a cable is pulled.
link_down() { ip link set "$prefix$1" down; }
link_up() { ip link set "$prefix$1" up; }

# Cuts host $1 off from the hosts named after it (and them from it), leaving its other links:
# blackhole routes in its namespace drop every packet it sends them. Without iptables or nft,
# this is how one path is cut while the host stays reachable to everyone else.
cut_off() {
  local host=$1 other
  shift
  for other in "$@"; do on "$host" ip route add blackhole "${host_addr[$other]}/32"; done
}
reconnect() {
  local host=$1 other
  shift
  for other in "$@"; do on "$host" ip route del blackhole "${host_addr[$other]}/32" 2>/dev/null || true; done
}

# --- PostgreSQL, on host db -------------------------------------------------------------------
# A PostgreSQL instance of our own (initdb in the run folder, Debian's 15 binaries), so that the
# machine's own cluster and its pg_hba.conf are left alone, and killing host db kills only it.
pg_data() { echo "$run_dir/db/data"; }
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

db_url() { echo "postgres://$db_user:$(cat "$run_dir/db/password")@${host_addr[db]}:$pg_port/$db_name"; }

db_init() {
  mkdir -p "$run_dir/db"
  chown postgres:postgres "$run_dir/db"
  as_postgres "$pg_bin/initdb" -D "$(pg_data)" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 >"$run_dir/db/initdb.log" 2>&1 \
    || { cat "$run_dir/db/initdb.log" >&2; fail "initdb failed"; }
  cat >>"$(pg_data)/postgresql.conf" <<CONF
listen_addresses = '${host_addr[db]}'
port = $pg_port
unix_socket_directories = '$run_dir/db'
max_connections = 200
shared_buffers = 128MB
CONF
  echo "host $db_name $db_user $subnet.0/24 scram-sha-256" >>"$(pg_data)/pg_hba.conf"
  # A password of this run, kept readable by root only.
  (umask 077; od -An -tx1 -N12 /dev/urandom | tr -d ' \n' >"$run_dir/db/password")
}

db_start() {
  start_process db db "$run_dir/db/postgres.log" \
    setpriv --reuid=postgres --regid=postgres --init-groups "$pg_bin/postgres" -D "$(pg_data)"
  wait_for_process 60 "PostgreSQL on ${host_addr[db]}" db \
    on db "$pg_bin/pg_isready" -q -h "${host_addr[db]}" -p "$pg_port" \
    || { tail -20 "$run_dir/db/postgres.log" >&2; fail "PostgreSQL did not start"; }
}

db_create() {
  as_postgres "$pg_bin/psql" -q -v ON_ERROR_STOP=1 -h "$run_dir/db" -p "$pg_port" -U postgres postgres <<SQL \
    || fail "could not create database $db_name"
CREATE ROLE $db_user LOGIN PASSWORD '$(cat "$run_dir/db/password")';
CREATE DATABASE $db_name OWNER $db_user;
SQL
}

# PostgreSQL's fast shutdown is SIGINT.
db_stop() { stop_process db INT 30; }

# --- Kafka, one broker (and controller voter) per host kafka1..3 -------------------------------
kafka_java() { # the JVM options of a broker or a tool
  echo "-Xms256m -Xmx384m -XX:+UseSerialGC -Djava.awt.headless=true -Dlog4j2.configurationFile=$run_dir/log4j2.properties"
}

# Runs one of Kafka's command-line tools from the root namespace (it reaches the brokers over
# the bridge). Tools get a small heap and no JIT tiers beyond C1: they start faster.
kafka_tool() {
  local class=$1
  shift
  java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$run_dir/log4j2-tools.properties" \
    -cp "$ORDERFLOW_KAFKA_LIBS/*" "$class" "$@"
}
topics() { kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(kafka_bootstrap)" "$@"; }

kafka_log_config() {
  cat >"$run_dir/log4j2.properties" <<'PROPS'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
# The request logger and the state-change logger would drown everything else.
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
PROPS
  cat >"$run_dir/log4j2-tools.properties" <<'PROPS'
status = error
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m%n
rootLogger.level = error
rootLogger.appenderRef.err.ref = err
PROPS
}

kafka_configure() { # kafka_configure <n>: writes kafka<n>'s server.properties
  local n=$1 host=kafka$1 voters=() b i=1
  for b in "${brokers[@]}"; do voters+=("$i@${host_addr[$b]}:$controller_port"); i=$((i + 1)); done
  local dir=$run_dir/$host addr=${host_addr[$host]}
  mkdir -p "$dir"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(IFS=,; echo "${voters[*]}")
listeners=PLAINTEXT://$addr:$kafka_port,CONTROLLER://$addr:$controller_port
advertised.listeners=PLAINTEXT://$addr:$kafka_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/logs
# orderflow's topics are created explicitly (by \`up\` here); one made by accident is a bug.
auto.create.topics.enable=false
num.partitions=5
# Every topic, the internal ones included, on all three brokers; a write is acknowledged once
# two of them have it, so one broker may be lost without losing an acknowledged record.
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
share.coordinator.state.topic.num.partitions=5
# Never elect a replica that may lack acknowledged records.
unclean.leader.election.enable=false
# Kafka's defaults, spelled out because the faults depend on them: a broker that stops
# heartbeating is fenced (its partitions move) after 9 s.
broker.session.timeout.ms=9000
broker.heartbeat.interval.ms=2000
group.initial.rebalance.delay.ms=0
log.cleaner.backoff.ms=1000
PROPS
}

kafka_format() { # one cluster id for all three brokers
  local n=$1 dir=$run_dir/kafka$1
  # shellcheck disable=SC2046
  java $(kafka_java) -cp "$ORDERFLOW_KAFKA_LIBS/*" kafka.tools.StorageTool format \
    --cluster-id "$(cat "$run_dir/cluster-id")" --config "$dir/server.properties" \
    >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; fail "formatting kafka$n failed"; }
}

kafka_start() {
  local n=$1 dir=$run_dir/kafka$1
  # shellcheck disable=SC2046
  start_process "kafka$n" "kafka$n" "$dir/server.log" \
    java $(kafka_java) -cp "$ORDERFLOW_KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties"
}

kafka_answers() { # whether broker $1's client port accepts connections
  (exec 3<>"/dev/tcp/${host_addr[kafka$1]}/$kafka_port") 2>/dev/null
}

# Every partition of every topic has all three replicas in sync (the cluster is whole again).
cluster_whole() {
  local out
  out=$(topics --describe --under-replicated-partitions 2>/dev/null) || return 1
  [ -z "$out" ] || return 1
  out=$(topics --describe --unavailable-partitions 2>/dev/null) || return 1
  [ -z "$out" ]
}

# The broker (1..3) that leads most partitions of topic `order`.
leader_of_most() {
  topics --describe --topic order 2>/dev/null \
    | awk '/Partition:/ { for (i = 1; i <= NF; i++) if ($i == "Leader:") print $(i + 1) }' \
    | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }'
}

# Whether order has created its topics (with the cluster's replication factor, from its own
# --kafka-replication-factor) and each has a leader.
order_topics_exist() {
  local out
  out=$(topics --describe --topic order 2>/dev/null) || return 1
  [ "$(grep -c 'Partition:' <<<"$out")" -eq 5 ] && grep -q 'ReplicationFactor: 3' <<<"$out"
}

# --- orderflow services ----------------------------------------------------------------------
# service_start <instance>: `orderflow <service>` on its own host, exactly as on a real one.
service_start() {
  local instance=$1 bin command port
  bin=$(orderflow_bin)
  read -r command port <<<"${service_of[$instance]}"
  mkdir -p "$run_dir/$instance"
  # -C: whatever a service might write besides its log stays in its own folder.
  # The database URL (it holds the password) goes in the environment, where `ps` does not
  # show it to every user of the machine; the service reads DATABASE_URL as --database-url.
  start_process "$instance" "$instance" "$run_dir/$instance/service.log" \
    env -C "$run_dir/$instance" DATABASE_URL="$(db_url)" \
    "$bin" "$command" --bind "${host_addr[$instance]}" --port "$port" \
    --kafka-brokers "$(kafka_bootstrap)" \
    --kafka-replication-factor 3 --kafka-min-insync-replicas 2
}

service_healthy() { curl -fsS -m 3 -o /dev/null "$(service_url "$1")/health"; }

service_wait() {
  wait_for_process "${2:-90}" "$1 at $(service_url "$1")/health" "$1" service_healthy "$1" \
    || { tail -20 "$run_dir/$1/service.log" >&2; fail "$1 did not become healthy"; }
}

# The --service-url flags that point load and check at the services (shipping2 answers for
# shipping: both instances share one schema, and shipping1 is the one the faults cut off).
# shellcheck disable=SC2034 # used by up and faults
url_flags=(
  --service-url "order=$(service_url order)/"
  --service-url "shipping=$(service_url shipping2)/"
  --service-url "invoicing=$(service_url invoicing)/"
)

# Reads a consumer's /health on stdin; prints how many partitions of `order` it owns.
partitions_owned() { jq -r '.assignedPartitions | length'; }

# Whether each shipping instance owns at least one partition of `order`.
shipping_split() {
  local instance
  for instance in shipping1 shipping2; do
    [ "$(curl -fsS -m 3 "$(service_url "$instance")/health" | partitions_owned)" -gt 0 ] || return 1
  done
}
