"""CPU time and context switches of the processes a probe watches, per order.

    probe_snapshot.py save FILE          records every process's CPU ticks and switches
    probe_snapshot.py diff FILE ORDERS   prints what each group used since, per order
    probe_snapshot.py seconds N          for N seconds, one line a second: the machine's user,
                                         system, idle, I/O wait and steal shares, and each
                                         group's CPU (% of a core); the load client shows as
                                         "loadtest" (to see what a slow second was short of)

Groups: each emporium process in PROBE_PIDS (the fleet's roles and its development Kafka), the
Postgres backends connected to PROBE_DATABASE, the other Postgres processes (WAL sender, the
replica's receiver and startup; they serve every database), RabbitMQ and Redis (shared as well),
and the load client (`emporium loadtest`). A process that exited in between is not counted: for
`diff`, the load client has always ended by then.
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
    if len(words) > 1 and words[1] == "loadtest":
        return "loadtest"
    if "beam.smp" in command:
        return "rabbitmq"
    if "redis-server" in command:
        return "redis"
    return None


def snapshot(names=None):
    """Every watched process's group, CPU ticks and context switches. With `names` (a cache of each
    pid's group, kept by the caller) a process's command is read once and switches are not
    counted: what `seconds` needs, at a small fraction of the cost, every second."""
    processes = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if names is not None and pid in names:
                name = names[pid]
            else:
                name = group(pid, open(f"/proc/{pid}/cmdline").read().replace("\0", " ").strip())
                if names is not None:
                    names[pid] = name
            if name is None:
                continue
            stat = open(f"/proc/{pid}/stat").read()
            fields = stat[stat.rindex(")") + 2:].split()
            ticks = int(fields[11]) + int(fields[12])
            switches = 0
            if names is None:
                for task in os.listdir(f"/proc/{pid}/task"):
                    switches += sum(int(n) for n in SWITCHES.findall(open(f"/proc/{pid}/task/{task}/status").read()))
        except (OSError, ValueError):
            continue
        processes[pid] = [name, ticks, switches]
    return {"at": time.monotonic(), "processes": processes}


def machine():
    """The machine's CPU ticks: user (nice included), system (interrupts included), idle, I/O wait, steal."""
    fields = [int(n) for n in open("/proc/stat").readline().split()[1:9]]
    return [fields[0] + fields[1], fields[2] + fields[5] + fields[6], fields[3], fields[4], fields[7]]


def each_second(duration):
    hertz = os.sysconf("SC_CLK_TCK")
    names = {}
    before, ticks_before = snapshot(names), machine()
    end = time.monotonic() + duration
    while time.monotonic() < end:
        time.sleep(max(0.0, 1 - (time.monotonic() - before["at"])))
        after, ticks_after = snapshot(names), machine()
        spent = [b - a for a, b in zip(ticks_before, ticks_after)]
        share = [100 * n / (sum(spent) or 1) for n in spent]
        seconds = after["at"] - before["at"]
        groups = {}
        for pid, (name, ticks, _) in after["processes"].items():
            groups[name] = groups.get(name, 0) + ticks - before["processes"].get(pid, [name, 0, 0])[1]
        busiest = sorted(groups.items(), key=lambda item: -item[1])[:8]
        print(time.strftime("%H:%M:%S", time.gmtime()),
              "user %2.0f sys %2.0f idle %2.0f iowait %2.0f steal %2.0f |" % tuple(share),
              ", ".join(f"{name} {ticks / hertz / seconds * 100:.0f}" for name, ticks in busiest if ticks), flush=True)
        before, ticks_before = after, ticks_after


def main():
    if sys.argv[1] == "seconds":
        each_second(float(sys.argv[2]))
        return
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
