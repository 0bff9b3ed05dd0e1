"""Turns one `bench/run` into bench/RESULTS.md (printed to stdout)."""

import datetime
import os
import json
import sys

results_path, systems_path, pg_tps, kafka_ceiling, embedded_ceiling, machine, revision, replay_path = sys.argv[1:9]
encoding_path = sys.argv[9] if len(sys.argv) > 9 else None
scale_path = sys.argv[10] if len(sys.argv) > 10 else None
work_path = sys.argv[11] if len(sys.argv) > 11 else None
pg_tps = int(pg_tps or 0)
kafka = json.loads(kafka_ceiling)
embedded = json.loads(embedded_ceiling)
rows = [json.loads(line) for line in open(results_path) if line.strip()]
systems = [line.strip().split("|") for line in open(systems_path) if line.strip()]

NAMES = {
    "postgres-kafka": "PostgreSQL + Apache Kafka",
    "embedded": "embedded default (SQLite + Tansu)",
    "feed-postgres": "feed recipe on PostgreSQL",
    "postgres-amqp": "PostgreSQL + RabbitMQ (classic queues)",
}


def pct(value, ceiling):
    return "%.0f%%" % (100.0 * value / ceiling) if ceiling else "-"


print("# Benchmark results\n")
print("Measured %s by `bench/run` on %s, commit `%s`. One run on a shared, noisy machine: compare"
      " the ratios within the run rather than the absolute figures." % (
          datetime.date.today().isoformat(), machine, revision))

print("\n## Ceilings, measured in the same run\n")
print("| ceiling | per second |")
print("|---|---:|")
print("| PostgreSQL: single-row insert transactions (pgbench, 8 clients) | %d |" % pg_tps)
print("| Apache Kafka: raw rdkafka produce, idempotent, acks=all, order-sized records | %d |" % kafka["producePerSec"])
print("| Apache Kafka: raw rdkafka consume | %d |" % kafka["consumePerSec"])
print("| embedded broker (Tansu, SQLite): raw rdkafka produce | %d |" % embedded["producePerSec"])
print("| embedded broker (Tansu, SQLite): raw rdkafka consume | %d |" % embedded["consumePerSec"])

print("\n## orderflow end to end\n")
print("Throughput: orders from the first order's time to the last shipment or invoice stored."
      " Latency: from the order's time to its shipment or invoice stored (server clocks, one machine)."
      " Each system is first warmed up for 20 s at 1,000 orders/s (Kafka's JVM compiles for its first minute"
      " of traffic; see `measure` in bench/run), then measured at each client count and at half its best rate.\n")
print("| system | run | orders | orders/s | of PG inserts/s | of Kafka produce/s | to shipment p50 / p99 ms | to invoice p50 / p99 / max ms | POST p99 ms |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
best = {}
half_rate = {}
for row in rows:
    r = row["report"]
    name = row["scenario"]
    rate = r["endToEndPerSec"]
    if row["run"].startswith("c="):
        best[name] = max(best.get(name, 0), rate)
    else:
        half_rate[name] = r
    kafka_ref = kafka["producePerSec"] if name == "postgres-kafka" else embedded["producePerSec"] if name == "embedded" else 0
    print("| %s | %s | %d | %.0f | %s | %s | %d / %d | %d / %d / %d | %d |" % (
        NAMES.get(name, name), row["run"], r["orders"], rate,
        pct(rate, pg_tps) if name != "embedded" else "-", pct(rate, kafka_ref),
        r["toStoredMs"]["shipping"]["p50"], r["toStoredMs"]["shipping"]["p99"],
        r["toStoredMs"]["invoicing"]["p50"], r["toStoredMs"]["invoicing"]["p99"], r["toStoredMs"]["invoicing"]["max"],
        r["postLatencyMs"]["p99"]))

print("\n## Replay: a consumer that joins late\n")
print("A history of orders placed through the API (`orderflow load --no-wait`) with bonus not"
      " running; then a fresh bonus (empty database, new consumer group) from the beginning of the"
      " history until it has applied every order. Time from starting the process (including its"
      " group join or first poll) to the last order applied.\n")
print("| system | orders | seconds | orders/s | raw consume/s on the same broker | of raw |")
print("|---|---:|---:|---:|---:|---:|")
REPLAY_NAMES = {
    "kafka": ("PostgreSQL + Apache Kafka (order-state)", kafka["consumePerSec"]),
    "embedded": ("embedded default (SQLite + Tansu, order-state)", embedded["consumePerSec"]),
    "feed": ("feed recipe on PostgreSQL (archive pages)", 0),
}
for line in open(replay_path):
    if not line.strip():
        continue
    name, n, secs, rate = line.strip().split("|")
    label, raw = REPLAY_NAMES.get(name, (name, 0))
    print("| %s | %s | %.1f | %.0f | %s | %s |" % (
        label, n, float(secs), float(rate), raw if raw else "-", pct(float(rate), raw)))

print("\n## Start-up and memory\n")
print("| system | `up` ready | idle RSS per service (MB) | peak RSS after the runs (MB) |")
print("|---|---:|---|---|")
for name, ready, idle in systems:
    peaks = {}
    for row in rows:
        if row["scenario"] == name:
            for figure in row["report"]["peakRssKb"]:
                peaks[figure["process"]] = max(peaks.get(figure["process"], 0), figure["kb"])
    peak_text = ", ".join("%s %.1f" % (label, kb / 1024) for label, kb in sorted(peaks.items()))
    print("| %s | %s ms | %s | %s |" % (NAMES.get(name, name), ready, idle, peak_text))

print("\n## Targets\n")
met = lambda ok: "met" if ok else "not met"
pk = best.get("postgres-kafka", 0)
share = 100.0 * pk / pg_tps if pg_tps else 0.0
print("- End to end on PostgreSQL + Kafka, at least 4,000 orders/s or 35%% of PostgreSQL's single-row"
      " insert rate in this run: **%.0f orders/s, %.0f%%** (%s)." % (pk, share, met(pk >= 4000 or share >= 35)))
if "postgres-kafka" in half_rate:
    p99 = half_rate["postgres-kafka"]["toStoredMs"]["invoicing"]["p99"]
    print("- p99 from order to invoice under 100 ms at half the maximum rate: **%d ms** (%s)." % (
        p99, met(p99 < 100)))
emb = best.get("embedded", 0)
print("- End to end on the embedded default, at least 3,000 orders/s: **%.0f orders/s** (%s)." % (emb, met(emb >= 3000)))
feed = best.get("feed-postgres", 0)
print("- Feed recipe end to end, at least 2,000 orders/s: **%.0f orders/s** (%s)." % (feed, met(feed >= 2000)))
feed_p50 = min((row["report"]["toStoredMs"]["invoicing"]["p50"] for row in rows
                if row["scenario"] == "feed-postgres"), default=None)
if feed_p50 is not None:
    print("- Feed recipe, median order to copy under 200 ms (long polling; best run): **%d ms** (%s)." % (
        feed_p50, met(feed_p50 < 200)))
# The orderflow services' own figures: a RabbitMQ row's `up` includes starting the Erlang node,
# and its services carry an AMQP client (shown in the table, not held to these targets).
own = [(name, ready, idle) for name, ready, idle in systems if name != "postgres-amqp"]
idle_max = 0.0
for _, _, idle in own:
    for part in idle.split(","):
        try:
            idle_max = max(idle_max, float(part.split()[-1]))
        except (ValueError, IndexError):
            pass
print("- Idle RSS under 20 MB per service (Kafka, embedded and feed rows): **%.1f MB** at most (%s)." % (
    idle_max, met(idle_max < 20)))
ready_max = max((int(ready) for _, ready, _ in own if ready.isdigit()), default=0)
print("- `up` ready in under 1 s once built (Kafka, embedded and feed rows): **%d ms** at most (%s)." % (
    ready_max, met(ready_max < 1000)))


def encoding_section(path):
    """The criterion figures of `cargo bench -p orderflow-events --bench encoding`."""
    import re
    sizes, times = {}, {}
    for line in open(path):
        size = re.match(r"\s+(json|avro v\d)\s+(\d+) bytes", line)
        if size:
            sizes[size.group(1)] = int(size.group(2))
        timed = re.match(r"(write|read as v2)/(json|avro v\d)\s+time:\s+\[\S+ \S+ (\S+) (\S+)", line)
        if timed:
            value, unit = float(timed.group(3)), timed.group(4)
            micros = value / 1000 if unit == "ns" else value * 1000 if unit == "ms" else value
            times[(timed.group(1), timed.group(2))] = micros
    if not sizes:
        return
    print("\n## Encodings: one order as JSON and as Avro\n")
    print("A three-line order (`crates/events/benches/encoding.rs`; times are criterion's"
          " estimates): the record's size, the time to write it from an `OrderPlaced`, and the time"
          " to read it back into a version 2 order (Avro: schema resolution from the writer's"
          " version).\n")
    print("| encoding | bytes | of JSON | write µs | read µs |")
    print("|---|---:|---:|---:|---:|")
    for name in ("json", "avro v1", "avro v2"):
        if name in sizes:
            print("| %s | %d | %s | %.1f | %.1f |" % (
                name, sizes[name], pct(sizes[name], sizes.get("json", 0)),
                times.get(("write", name), 0), times.get(("read as v2", name), 0)))


if encoding_path:
    encoding_section(encoding_path)



def profile_section(work):
    """bench/profile.py's figures for each system's profiled run."""
    import glob
    found = sorted(glob.glob(os.path.join(work, "profile-*.json")))
    if not found:
        return
    print("\n## Profile of the saturated system\n")
    print("Earlier, by hand with `top` during `orderflow load -n 15000 -c 64` on PostgreSQL +"
          " Apache Kafka (the session that built the group commit): with the first group commit"
          " (one INSERT per order inside the batch's transaction, 1,562 orders/s) the order service"
          " took 34% of the two cores, Kafka's JVM 50%, shipping and invoicing 11% each,"
          " PostgreSQL's backends about 80% of a core, 7% idle, and the one writer was busy 95% of"
          " the time. With five statements per batch (multi-row inserts, 2,233-2,480 orders/s,"
          " 26 orders per commit): order 27%, the JVM 27%, shipping and invoicing 13% each,"
          " PostgreSQL about 55% of a core, 26% idle, and the writer still busy all the time (11 ms"
          " per batch): its round trips and the commit's fsync, not the CPU, are the limit. Now,"
          " measured by this script in this run:\n")
    print("A run of 4x the orders at 64 clients per system, profiled by `bench/profile.py`: CPU"
          " seconds per process (from /proc; the share is of all cores over the run's wall time),"
          " and PostgreSQL's client sessions sampled every 20 ms by what they do (the average"
          " number of sessions in each state: on CPU, waiting on an event such as the WAL's fsync,"
          " or idle inside a transaction while the service sends its next statement).\n")
    for path in found:
        name = os.path.basename(path)[len("profile-"):-len(".json")]
        profile = json.load(open(path))
        capacity = profile["wallSecs"] * profile["cores"]
        print("**%s** (%.1f s):\n" % (NAMES.get(name, name), profile["wallSecs"]))
        print("| process | CPU s | of %d cores |" % profile["cores"])
        print("|---|---:|---:|")
        for group, secs in profile["cpuSecs"].items():
            print("| %s | %.2f | %s |" % (group, secs, pct(secs, capacity)))
        idle = capacity - sum(profile["cpuSecs"].values())
        print("| (idle or stolen) | %.2f | %s |" % (max(idle, 0), pct(max(idle, 0), capacity)))
        if profile["averageSessions"]:
            print("\n| PostgreSQL session (%d samples) | doing | average sessions |" % profile["samples"])
            print("|---|---|---:|")
            for key, n in profile["averageSessions"].items():
                # "application name|state" (profile.py); older profiles have the state alone.
                who, _, state = key.rpartition("|")
                print("| %s | %s | %.2f |" % (who or "-", state, n))
        print()


if work_path:
    profile_section(work_path)


if scale_path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import scale
    scale.report(scale_path)
