"""CPU time and context switches of the processes a probe watches, per order.

    probe_snapshot.py save FILE          records every process's CPU ticks and switches
    probe_snapshot.py diff FILE ORDERS   prints what each group used since, per order

Groups: each emporium process in PROBE_PIDS (the fleet's roles and its development Kafka), the
Postgres backends connected to PROBE_DATABASE, the other Postgres processes (WAL sender, the
replica's receiver and startup; they serve every database), RabbitMQ and Redis (shared as well).
A process that exited in between (the load generator) is not counted.
"""
import json
import os
import re
import sys
import time

SWITCHES = re.compile(r"^(?:non)?voluntary_ctxt_switches:\s+(\d+)", re.M)
FLEET = set(os.environ.get("PROBE_PIDS", "").split())
DATABASE = os.environ.get("PROBE_DATABASE", "")


def group(pid, command):
    words = command.split()
    if not words:
        return None
    if command.startswith("postgres:"):
        # Backends are titled "postgres: USER DATABASE HOST(PORT) STATE".
        if len(words) > 2 and words[1] == "emporium":
            return "postgres: backends" if words[2] == DATABASE else None
        return "postgres: " + " ".join(words[1:3])
    if pid in FLEET:
        return " ".join(w for w in words[1:3] if not w.startswith("-"))
    if "beam.smp" in command:
        return "rabbitmq"
    if "redis-server" in command:
        return "redis"
    return None


def snapshot():
    processes = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = open(f"/proc/{pid}/cmdline").read().replace("\0", " ").strip()
            name = group(pid, command)
            if name is None:
                continue
            stat = open(f"/proc/{pid}/stat").read()
            fields = stat[stat.rindex(")") + 2:].split()
            ticks = int(fields[11]) + int(fields[12])
            switches = 0
            for task in os.listdir(f"/proc/{pid}/task"):
                switches += sum(int(n) for n in SWITCHES.findall(open(f"/proc/{pid}/task/{task}/status").read()))
        except (OSError, ValueError):
            continue
        processes[pid] = [name, ticks, switches]
    return {"at": time.monotonic(), "processes": processes}


def main():
    if sys.argv[1] == "save":
        json.dump(snapshot(), open(sys.argv[2], "w"))
        return
    before, after, orders = json.load(open(sys.argv[2])), snapshot(), float(sys.argv[3])
    if orders <= 0:
        sys.exit("probe: no order was accepted; nothing to divide by")
    seconds = after["at"] - before["at"]
    hertz = os.sysconf("SC_CLK_TCK")
    totals = {}
    for pid, (name, ticks, switches) in after["processes"].items():
        earlier = before["processes"].get(pid, [name, 0, 0])
        total = totals.setdefault(name, [0.0, 0])
        total[0] += (ticks - earlier[1]) / hertz
        total[1] += switches - earlier[2]
    print(f"{'process':28} {'cpu-s':>7} {'% core':>7} {'ms/order':>9} {'switches/order':>15}")
    for name, (cpu, switches) in sorted(totals.items(), key=lambda item: -item[1][0]):
        print(f"{name:28} {cpu:7.2f} {cpu / seconds * 100:7.1f} {cpu * 1000 / orders:9.2f} {switches / orders:15.1f}")
    cpu = sum(total[0] for total in totals.values())
    print(f"{'all of the above':28} {cpu:7.2f} {cpu / seconds * 100:7.1f} {cpu * 1000 / orders:9.2f} "
          f"{sum(total[1] for total in totals.values()) / orders:15.1f}   over {seconds:.1f} s")


main()
