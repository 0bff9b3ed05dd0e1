#!/usr/bin/env python3
"""Where the time goes while bench/run saturates the system: CPU per process and the database's
sessions by what they wait on.

  profile.py <out.json> -- <command...>
      runs the command (an `orderflow load`), and meanwhile
      - reads every process's CPU time (/proc/<pid>/stat) before and after, grouped as orderflow's
        services (by subcommand), PostgreSQL, Kafka (java) and the rest;
      - samples PostgreSQL's pg_stat_activity every SAMPLE_SECONDS (one psql session, fed a
        query at a time): each client session of $DATABASE_URL's database that is in a
        statement, by wait event (none: on CPU), or idle inside a transaction (waiting for the
        service's next statement: a round trip). The average number of sessions in each state is
        the "average active sessions" profile.
      The command's own output goes to stdout; the profile to <out.json>.
"""

import collections
import json
import os
import subprocess
import sys
import threading
import time

SAMPLE_SECONDS = 0.02
TICKS = os.sysconf("SC_CLK_TCK")
MARK = "--sample--"
QUERY = (
    f"SELECT '{MARK}' UNION ALL "
    "SELECT coalesce(nullif(application_name, ''), '?') || '|' || "
    "CASE WHEN state = 'idle in transaction' THEN 'idle in transaction (a round trip)' "
    "ELSE coalesce(wait_event_type || ': ' || wait_event, 'on CPU') END "
    "FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = current_database() "
    "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction');\n"
)


def process_group(pid):
    """A process's group for the profile, or None for the kernel's threads."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return None
    if not argv:
        return None
    name = os.path.basename(argv[0])
    if name == "orderflow":
        return f"orderflow {argv[1]}" if len(argv) > 1 and not argv[1].startswith("-") else "orderflow up"
    if name.startswith("postgres") or (argv[0].startswith("postgres:")):
        return "PostgreSQL"
    if name == "orderflow-broker":
        return "embedded broker (Tansu)"
    if name == "java":
        return "Kafka (java)"
    if name.startswith("beam"):
        return "RabbitMQ (Erlang)"
    if name in ("python3", "psql", "profile.py"):
        return "bench (python, psql)"
    return "other processes"


def cpu_seconds():
    seconds = collections.Counter()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        group = process_group(pid)
        if group is None:
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime are fields 14 and 15 of stat; [1] starts at field 3.
        seconds[group] += (int(fields[11]) + int(fields[12])) / TICKS
    return seconds


def sample_database(stop, waits, samples):
    psql = subprocess.Popen(
        ["psql", "-At", "-q", os.environ["DATABASE_URL"]],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
    )

    def read():
        for line in psql.stdout:
            line = line.strip()
            if line == MARK:
                samples[0] += 1
            elif line:
                waits[line] += 1

    reader = threading.Thread(target=read)
    reader.start()
    while not stop.is_set():
        psql.stdin.write(QUERY)
        psql.stdin.flush()
        stop.wait(SAMPLE_SECONDS)
    psql.stdin.close()
    psql.wait()
    reader.join()


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    out, command = sys.argv[1], sys.argv[3:]
    waits, samples, stop = collections.Counter(), [0], threading.Event()
    sampler = threading.Thread(target=sample_database, args=(stop, waits, samples))
    before, started = cpu_seconds(), time.monotonic()
    sampler.start()
    result = subprocess.run(command)
    stop.set()
    sampler.join()
    wall = time.monotonic() - started
    used = cpu_seconds()
    # Processes that ended during the run (none of the services should) count from zero.
    cpu = {group: used[group] - before.get(group, 0.0) for group in used}
    profile = {
        "wallSecs": wall,
        "cores": os.cpu_count(),
        "cpuSecs": {group: round(secs, 2) for group, secs in sorted(cpu.items(), key=lambda kv: -kv[1]) if secs > 0.05},
        "samples": samples[0],
        "averageSessions": {state: round(n / max(samples[0], 1), 3) for state, n in waits.most_common()},
    }
    with open(out, "w") as f:
        json.dump(profile, f)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
