#!/usr/bin/env bash
# Where an order's time and CPU go (issue 16): the bench's fleet (api, relay, worker product,
# worker order; release build) on a database of its own, one paced `emporium loadtest`, and then
#   - CPU seconds, ms per order and context switches per order of each process (the fleet, the
#     Postgres backends and WAL processes, RabbitMQ, Redis, the development Kafka), and the load
#     client's own CPU per order;
#   - per second of the run: orders, and the average time of each stage of POST -> stock decided
#     (API commit -> relay sent order.created -> product worker committed stock.reserved -> relay
#     sent it -> order worker decided), from the outbox's and the orders' timestamps;
#   - with pg_stat_statements loaded on the primary, the statements by time (and by planning time
#     with pg_stat_statements.track_planning on).
#
# Usage: bash Benchmarks/probe.sh [RATE [SECONDS]]   (make probe RATE=250 DURATION=25)
#   PRELOAD=N   N orders at full speed first (as the bench's capacity steps follow its full-speed
#               rounds); PERF=1 `perf record -a -g` for 15 s of the run; STRACE=1 `strace -c -f`
#               of each role for 10 s; PROBE_ENV="KEY=value ..." settings for the fleet's
#               processes; BENCH_KAFKA=tansu the fleet on Tansu instead of the mock cluster
#               (Benchmarks/order_pipeline.sh); EMPORIUM=PATH another build of emporium;
#               GUARD=1 loads the fleet at once, inside the workers' first 30 s after their
#               partitions were assigned, where every Kafka message also takes the Redis guard (by
#               default the probe waits them out, as the bench's paced rounds do);
#               EACH_SECOND=1 also prints, second by second, the machine's idle and steal
#               time and the busiest processes' CPU (Benchmarks/probe_snapshot.py seconds), to set
#               beside the stage times (docs/benchmarks.md, "What a slow second is short of");
#               REFERENCE=1 then pgbench running the same writes per order at the same rate, and
#               its CPU per order (the reference of `make bench`, docs/benchmarks.md). The
#               services must be up (make services-up).
# Output and logs stay in the directory printed first. Not part of `make bench`: it measures no
# ratio, it tells where to look.
set -uo pipefail
cd "$(dirname "$0")/.."
RATE="${1:-250}"
SECONDS_RUN="${2:-25}"
eval "$(bash deploy/local/services.sh env)"
CLEANUPS=()
# shellcheck source=Benchmarks/order_pipeline.sh
source Benchmarks/order_pipeline.sh
# EMPORIUM=PATH: that binary instead of this checkout's release build (to compare two builds).
if [[ -n ${EMPORIUM:-} ]]; then
    emporium="$EMPORIUM"
else
    swift build -c release --product emporium >&2 || exit 1
    emporium="$(swift build -c release --show-bin-path)/emporium"
fi
OP_DIR="$(mktemp -d /tmp/emporium-probe.XXXXXX)"
echo "probe: $RATE orders/s for $SECONDS_RUN s; logs in $OP_DIR"
db=emporium_probe
admin=(psql -X -q -h 127.0.0.1 -U postgres -d postgres)
op_new_database "$emporium" "$db" || { echo "probe: migrate failed; see $OP_DIR/migrate.log" >&2; exit 1; }
trap order_pipeline_stop EXIT
# PROBE_ENV="KEY=value ...": settings for the fleet's processes (to compare, say, OUTBOX_CONCURRENCY).
read -ra OP_EXTRA_ENV <<<"${PROBE_ENV:-}"
op_fleet_up "$emporium" "$db" api relay "worker product" "worker order" || exit 1
loadtest() { "$emporium" loadtest --url "http://127.0.0.1:$OP_PORT" --json "$@" 2>>"$OP_DIR/loadtest.log"; }
loadtest --clients 16 --orders 200 >/dev/null
[[ -n ${PRELOAD:-} ]] && loadtest --clients 16 --orders "$PRELOAD" >"$OP_DIR/preload.json"
# As the bench's paced rounds do: measure past the workers' Redis guard window (GUARD=1 measures in it).
[[ -n ${GUARD:-} ]] || op_wait_out_guard
"${admin[@]}" -c CHECKPOINT
statements=""
if "${admin[@]}" -tA -c "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'
        AND current_setting('shared_preload_libraries') LIKE '%pg_stat_statements%'" 2>/dev/null | grep -q 1; then
    statements=yes
    "${admin[@]}" -c "SELECT pg_stat_statements_reset()" >/dev/null
fi
export PROBE_PIDS="${OP_PIDS[*]} $OP_KAFKA_PID" PROBE_DATABASE="$db"
python3 Benchmarks/probe_snapshot.py save "$OP_DIR/snapshot.json"
started="$("${admin[@]}" -tA -c "SELECT now()")"
tools=()
if [[ -n ${PERF:-} ]]; then
    (sleep 5; perf record -o "$OP_DIR/perf.data" -a -g -F 299 -- sleep 15 >/dev/null 2>&1) &
    tools+=($!)
fi
if [[ -n ${EACH_SECOND:-} ]]; then
    python3 Benchmarks/probe_snapshot.py seconds "$((SECONDS_RUN + 3))" >"$OP_DIR/seconds.txt" &
    tools+=($!)
fi
if [[ -n ${STRACE:-} ]]; then
    (sleep 5
     for index in "${!OP_PIDS[@]}"; do
         timeout -s INT 10 strace -f -c -p "${OP_PIDS[$index]}" -o "$OP_DIR/strace.${OP_ROLES[$index]// /-}" &
     done
     wait) &
    tools+=($!)
fi
# In a subshell whose `times` then gives the load client's own CPU (its second line: the children's
# user and system time), set-up included, to set beside the reference's pgbench client below.
(loadtest --clients 64 --rate "$RATE" --duration "${SECONDS_RUN}s" >"$OP_DIR/report.json" && times >"$OP_DIR/loadtest.times") \
    || { echo "probe: the loadtest failed; see $OP_DIR/loadtest.log" >&2; exit 1; }
if [[ -n ${STRACE:-} ]]; then echo "probe: (strace slows the processes it traces: their figures below are not the plain ones)"; fi
python3 Benchmarks/probe_snapshot.py diff "$OP_DIR/snapshot.json" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accepted"])' "$OP_DIR/report.json")"
python3 - "$OP_DIR/report.json" "$OP_DIR/loadtest.times" <<'PY'
import json, re, sys
report = json.load(open(sys.argv[1])); latency = report.get("latencyMs") or {}
print(f"loadtest: {report['accepted']} orders at {report['ordersPerSecond']:.1f}/s accepted, {report.get('decidedPerSecond') or 0:.1f}/s decided; POST -> decided p50 {latency.get('p50', 0):.1f} ms, "
      f"p99 {latency.get('p99', 0):.1f} ms; {report['unresolved']} undecided")
# `times` prints e.g. "0m12.345s 0m3.210s"; the second line is the children's.
seconds = [int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", open(sys.argv[2]).read().splitlines()[1])]
print(f"load client (emporium loadtest, set-up included): {sum(seconds) * 1000 / max(report['accepted'], 1):.2f} ms/order")
PY
# (Not a bare `wait`: the fleet's processes are this shell's children too.)
for tool in ${tools[@]+"${tools[@]}"}; do wait "$tool"; done
# The stages, from the outbox rows each hop writes (an index for the look-up, in this database only).
probe_db=(psql -X -q -h 127.0.0.1 -U postgres -d "$db")
"${probe_db[@]}" -c "CREATE INDEX IF NOT EXISTS probe_by_key ON messaging.outbox (message_key, message_type)" >/dev/null
"${probe_db[@]}" -v started="$started" <<'SQL'
WITH stages AS (
    SELECT o.created_at, o.stock_decided_at, c.created_at AS created_row, c.sent_at AS created_sent, r.created_at AS reserved_row,
        r.sent_at AS reserved_sent
    FROM ordering.orders o
    LEFT JOIN messaging.outbox c ON c.message_key = o.id::text AND c.message_type = 'order.created'
    LEFT JOIN messaging.outbox r ON r.message_key = o.id::text AND r.message_type = 'stock.reserved'
    WHERE o.created_at >= :'started')
SELECT date_trunc('second', created_at) AS second, count(*) AS orders,
    round(avg(extract(epoch FROM created_sent - created_row)) * 1000) AS relay_ms,
    round(avg(extract(epoch FROM reserved_row - created_sent)) * 1000) AS kafka_product_ms,
    round(avg(extract(epoch FROM reserved_sent - reserved_row)) * 1000) AS relay_again_ms,
    round(avg(extract(epoch FROM stock_decided_at - reserved_sent)) * 1000) AS kafka_order_ms,
    round(max(extract(epoch FROM stock_decided_at - created_at)) * 1000) AS slowest_ms
FROM stages GROUP BY 1 ORDER BY 1;
SQL
if [[ -n ${EACH_SECOND:-} ]]; then
    echo "each second: the machine's CPU (% of both cores) | the busiest processes (% of a core)"
    cat "$OP_DIR/seconds.txt"
fi
if [[ -n $statements ]]; then
    # plans and plan_ms stay 0 unless pg_stat_statements.track_planning is on: a statement with
    # plans close to its calls is planned anew at each execution (docs/benchmarks.md, "Statements
    # planned at every execution").
    "${admin[@]}" -c "SELECT calls, round(total_exec_time::numeric) AS exec_ms, round((total_exec_time / calls)::numeric, 3) AS ms_a_call, rows,
        plans, round(total_plan_time::numeric) AS plan_ms, left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS statement
        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$db'
        ORDER BY total_exec_time + total_plan_time DESC LIMIT 20"
fi
# REFERENCE=1: pgbench running the same writes per order (Benchmarks/pgbench/order-pipeline.sql,
# as `make bench` runs it) paced at the same rate on a database of its own, and what it costs per
# order, counted over the same length of time while it runs (its backends leave when it ends).
if [[ -n ${REFERENCE:-} ]]; then
    order_pipeline_stop
    trap - EXIT
    ref=emporium_probe_pgbench
    { op_new_database "$emporium" "$ref" && op_seed_pgbench "$ref"; } || { echo "probe: the reference's database $ref failed; see $OP_DIR/migrate.log" >&2; exit 1; }
    "${admin[@]}" -c CHECKPOINT
    pgbench_bin="$(ls -d /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -n1)"
    orders() { psql -X -q -At -h 127.0.0.1 -U emporium -d "$ref" -c "SELECT count(*) FROM ordering.orders"; }
    "${pgbench_bin:-pgbench}" -h 127.0.0.1 -U emporium -n -M prepared -c 16 -j 2 -R "$RATE" -T "$((SECONDS_RUN + 10))" \
        -f Benchmarks/pgbench/order-pipeline.sql "$ref" >"$OP_DIR/pgbench.log" 2>&1 &
    pgbench_pid=$!
    sleep 5
    PROBE_PIDS="" PROBE_DATABASE="$ref" python3 Benchmarks/probe_snapshot.py save "$OP_DIR/reference.json"
    before="$(orders)"; client_before="$(awk '{print $14 + $15}' "/proc/$pgbench_pid/stat")"
    sleep "$SECONDS_RUN"
    after="$(orders)"; client_after="$(awk '{print $14 + $15}' "/proc/$pgbench_pid/stat")"
    echo "reference: pgbench, the same writes per order, paced at $RATE/s (its backends, and the servers beside them)"
    PROBE_PIDS="" PROBE_DATABASE="$ref" python3 Benchmarks/probe_snapshot.py diff "$OP_DIR/reference.json" "$((after - before))"
    python3 -c 'import sys; n, ticks, hz = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"pgbench client: {ticks / hz * 1000 / max(n, 1):.2f} ms/order over {n} orders")' \
        "$((after - before))" "$((client_after - client_before))" "$(getconf CLK_TCK)"
    wait "$pgbench_pid"
    grep -E '^(tps|latency average)' "$OP_DIR/pgbench.log"
fi
if [[ -n ${PERF:-} ]]; then echo "probe: perf report -i $OP_DIR/perf.data (roles' pids: ${OP_PIDS[*]} = ${OP_ROLES[*]})"; fi
if [[ -n ${STRACE:-} ]]; then echo "probe: system calls per role in $OP_DIR/strace.*"; fi
