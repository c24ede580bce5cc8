# Sourced by Benchmarks/run.sh (uses its record, median, ROUNDS, PGBENCH and CLEANUPS).
#
# Order pipeline: the whole fleet (api, relay, worker product, worker order; release build) on a
# database, a development Kafka and a RabbitMQ namespace of its own, driven by `emporium loadtest`
# (orders accepted per second; POST -> stock decided latency), against pgbench running the same
# database writes per order (Benchmarks/pgbench/order-pipeline.sql: the API's, the product
# worker's and the order worker's transactions) on a second database. The ratio says what the
# services, the brokers and the hops between them cost on top of the database work.
#
# Each round runs pgbench and the loadtest as fast as the API answers (the throughput ratio); then
# the loadtest runs paced at 0.51 x the median pgbench rate (BENCH_LOADTEST_PACE), each time for
# BENCH_LOADTEST_PACED_SECONDS (15), then once at each of BENCH_LOADTEST_OTHER_PACES (0.25 0.75),
# with BENCH_CAPACITY_CLIENTS (64) clients, each paced run on a new fleet and development Kafka
# (the database is kept); the paced run's p99 is the
# latency target: at least half of pgbench's orders per second, with p50 POST -> stock decided
# under 50 ms and p99 under 250 ms at that rate (issue 16). (At full speed the p99 mostly measures
# the backlog that builds up.)
#
# BENCH_LOADTEST_CLIENTS (16) clients on both sides, BENCH_LOADTEST_ORDERS (2000) orders per
# loadtest round, BENCH_PGBENCH_SECONDS (20) per pgbench round. Then, on a new development Kafka,
# `loadtest --find-capacity` searches the highest paced rate whose p99 stays within BENCH_CAPACITY_BOUND (250ms) for
# BENCH_CAPACITY_STEP (20s) with BENCH_CAPACITY_CLIENTS (64) clients, reported against pgbench's rate.
# Each role's peak resident memory (VmHWM) after the full-speed rounds is recorded against the
# 150 MiB ceiling (a ratio below 1 is within it). Logs stay in $OP_DIR (printed).
# BENCH_KAFKA_BROKERS (1) sets the development Kafka's broker count. Each worker fetches from every
# broker that leads one of its partitions, and a mock broker holds an empty fetch for the whole
# fetch wait (3 ms here) where a real one answers when data arrives: three mock brokers cost the
# workers and the mock about 0.7 ms of CPU an order more than one at 120 orders/s, a cost of the
# mock that a deployment on real brokers does not pay (docs/benchmarks.md, "What the fleet costs
# when it has nothing to do"). The messages and transactions per order are the same either way.
# BENCH_KAFKA=tansu runs each fleet on Tansu (a real Kafka-protocol broker, restarted empty, with
# librdkafka 2.16 for the fleet; deploy/local/interop.sh) instead of librdkafka's mock cluster;
# on 6 Dec 2026 it cost more CPU per order than the mock (docs/benchmarks.md), so it is not the default.

OP_PIDS=()
OP_ROLES=()
OP_KAFKA_PID=""
OP_TANSU=""
OP_DIR=""
OP_NAMESPACE=""

# Stops the fleet (SIGTERM, then SIGKILL after 15 s), then its Kafka (the workers commit their
# offsets on the way out), and removes the fleet's RabbitMQ queues and exchanges (the delayed
# reminders and expiries would otherwise wait there for a day). Safe to call twice; run.sh also
# calls it on exit.
order_pipeline_stop() {
    op_terminate "${OP_PIDS[@]}"
    OP_PIDS=()
    OP_ROLES=()
    if [[ -n $OP_TANSU ]]; then
        bash deploy/local/interop.sh down >/dev/null 2>&1 || true
        OP_TANSU=""
    else
        op_terminate $OP_KAFKA_PID
    fi
    OP_KAFKA_PID=""
    if [[ -n $OP_NAMESPACE ]]; then
        python3 - "$OP_NAMESPACE" <<'PY' || echo "order pipeline: could not remove the RabbitMQ objects of $OP_NAMESPACE" >&2
import base64, json, sys, urllib.parse, urllib.request
prefix = sys.argv[1] + "."
auth = {"Authorization": "Basic " + base64.b64encode(b"emporium:emporium").decode()}
def call(method, path):
    request = urllib.request.Request("http://127.0.0.1:15672/api/" + path, method=method, headers=auth)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response) if method == "GET" else None
for kind in ("queues", "exchanges"):
    for item in call("GET", kind + "?columns=name,vhost"):
        if item["name"].startswith(prefix):
            call("DELETE", "/".join([kind, urllib.parse.quote(item["vhost"], safe=""), urllib.parse.quote(item["name"], safe="")]))
PY
        OP_NAMESPACE=""
    fi
}

op_terminate() {
    local pid _
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -KILL "$pid" 2>/dev/null; then echo "order pipeline: pid $pid did not stop in 15 s; killed" >&2; fi
    done
}

# Starts a fleet of `roles` (api first among them) with `emporium` on the migrated database
# `db`, a development Kafka and a RabbitMQ namespace of its own, plus OP_EXTRA_ENV; waits until
# the API is ready and the Kafka consumers have their partitions. Sets OP_PORT (the API's) and
# OP_READY_AT (when it was ready, in seconds since the epoch).
# Usage: op_fleet_up EMPORIUM DB ROLE...
OP_EXTRA_ENV=()
OP_PORT=""
OP_READY_AT=0
op_fleet_up() {
    local emporium="$1" db="$2" db_url replica_url port _
    shift 2
    # A fleet started again in the same run: the last one's logs move aside (the waits below look
    # for the new fleet's lines), and a bootstrap file left by a killed Kafka goes.
    if [[ -e $OP_DIR/api.log ]]; then
        local earlier
        earlier="$(mktemp -d "$OP_DIR/earlier-fleet.XXXX")"
        mv "$OP_DIR"/{kafka,api,relay,worker-*}.log "$earlier"/ 2>/dev/null || true
    fi
    rm -f "$OP_DIR/bootstrap"
    db_url="postgresql://emporium:emporium@127.0.0.1:5432/$db"
    replica_url="postgresql://emporium:emporium@127.0.0.1:5433/$db"
    for _ in $(seq 100); do
        psql -X -q -h 127.0.0.1 -p 5433 -U emporium -d "$db" -c "SELECT 1 FROM ordering.catalog LIMIT 1" >/dev/null 2>&1 && break
        sleep 0.1
    done

    # The fleet: a Kafka of its own (a new consumer group on the shared one would start from the
    # topics' beginning: every earlier run's and test's messages), a namespace of its own.
    # BENCH_KAFKA=tansu: Tansu, a real Kafka-protocol broker, restarted empty, with librdkafka 2.16
    # for the fleet (deploy/local/interop.sh), instead of librdkafka's mock cluster.
    local kafka_env=()
    if [[ ${BENCH_KAFKA:-mock} == tansu ]]; then
        { bash deploy/local/interop.sh restart && EMPORIUM_BIN="$emporium" bash deploy/local/interop.sh topics; } >"$OP_DIR/kafka.log" 2>&1 \
            || { echo "order pipeline: Tansu did not start; see $OP_DIR/kafka.log" >&2; return 1; }
        OP_TANSU=yes
        # interop.sh keeps its pid file and the library under $EMPORIUM_STATE_DIR/interop (default
        # .local/); the broker's address comes from its `env`.
        local interop_dir="${EMPORIUM_STATE_DIR:-$PWD/.local}/interop"
        OP_KAFKA_PID="$(head -n1 "$interop_dir/tansu.pid")"
        kafka_env=(LD_LIBRARY_PATH="$interop_dir/lib")
        (eval "$(bash deploy/local/interop.sh env)"; echo "$KAFKA_BOOTSTRAP_SERVERS") >"$OP_DIR/bootstrap"
    else
        "$emporium" dev kafka --brokers "${BENCH_KAFKA_BROKERS:-1}" --bootstrap-file "$OP_DIR/bootstrap" >"$OP_DIR/kafka.log" 2>&1 &
        OP_KAFKA_PID=$!
        for _ in $(seq 100); do [[ -s "$OP_DIR/bootstrap" ]] && break; sleep 0.1; done
    fi
    OP_NAMESPACE="bench-$(date +%Y%m%d%H%M%S)-$$"
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    local fleet_env=(
        POSTGRES_PRIMARY_URL="$db_url" POSTGRES_REPLICA_URL="$replica_url"
        KAFKA_BOOTSTRAP_SERVERS="$(tr -d '[:space:]' <"$OP_DIR/bootstrap")" MESSAGING_NAMESPACE="$OP_NAMESPACE"
        METRICS_PORT=0 API_PORT="$port" API_HOST=127.0.0.1
        # The development Kafka's mock brokers hold every empty fetch for the whole wait, where a
        # real broker answers when data arrives: at 10 ms (the services script's value) that is
        # ~5 ms on each Kafka hop. 3 ms took each hop from 14-17 to 10 ms at 285 orders/s (p50
        # 46-57 -> 35-37 ms, same CPU per order); when idle the fetches cost more CPU, which
        # lands on our side of every ratio (docs/benchmarks.md, 5 Dec).
        KAFKA_FETCH_WAIT_MAX=3ms
        # A few load-test clients stand for many customers: per-client limits would only measure
        # the limiter refusing them.
        RATE_LIMIT_WRITE=off RATE_LIMIT_READ=off
        ${kafka_env[@]+"${kafka_env[@]}"}
        "${OP_EXTRA_ENV[@]}"
    )
    local role
    for role in "$@"; do
        # shellcheck disable=SC2086 # the role is the subcommand and its argument
        env "${fleet_env[@]}" "$emporium" $role >"$OP_DIR/${role// /-}.log" 2>&1 &
        OP_PIDS+=($!)
        OP_ROLES+=("$role")
    done
    op_alive() {
        local pid
        for pid in "${OP_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null || { echo "order pipeline: a fleet process exited; see $OP_DIR" >&2; return 1; }
        done
    }
    local ready=""
    for _ in $(seq 600); do
        op_alive || return 1
        curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && grep -q "partitions assigned" "$OP_DIR/worker-product.log" \
            && grep -q "partitions assigned" "$OP_DIR/worker-order.log" && { ready=yes; break; }
        sleep 0.1
    done
    [[ -n $ready ]] || { echo "order pipeline: the fleet was not ready in 60 s; see $OP_DIR" >&2; return 1; }
    OP_PORT="$port"
    OP_READY_AT="$(date +%s)"
}

# Sleeps until the workers' first 30 s after their partitions were assigned (MESSAGING_GUARD_TTL)
# are over: in them every Kafka message they consume (two an order) also takes a Redis guard
# (MessageProcessor; two more Redis round trips a message, about 0.35 ms of the workers' and
# Redis's CPU an order), which a fleet running for good does not pay. 31 s follows the default
# time to live; a fleet given another MESSAGING_GUARD_TTL (PROBE_ENV) is not waited for by it.
op_wait_out_guard() {
    local left=$((OP_READY_AT + 31 - $(date +%s)))
    if ((left > 0)); then sleep "$left"; fi
}

# A new database DB (dropped first if it exists), migrated by EMPORIUM; its log goes to
# $OP_DIR/migrate.log. Usage: op_new_database EMPORIUM DB
op_new_database() {
    local emporium="$1" db="$2"
    PGOPTIONS="-c client_min_messages=warning" psql -X -q -h 127.0.0.1 -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER emporium" || return 1
    POSTGRES_PRIMARY_URL="postgresql://emporium:emporium@127.0.0.1:5432/$db" POSTGRES_REPLICA_URL="" \
        PGOPTIONS="-c client_min_messages=warning" "$emporium" migrate >/dev/null 2>>"$OP_DIR/migrate.log"
}

# The products pgbench's order script orders (PGB-0 .. PGB-19), in the migrated database DB.
op_seed_pgbench() {
    psql -X -q -h 127.0.0.1 -U emporium -d "$1" <<'SQL'
INSERT INTO catalog.products (sku, name, price_minor, currency)
SELECT 'PGB-' || i, 'pgbench product ' || i, 250 + i * 370, 'EUR' FROM generate_series(0, 19) i;
INSERT INTO catalog.stock (sku, available) SELECT sku, 1000000000 FROM catalog.products;
INSERT INTO ordering.catalog (sku, name, price_minor, currency, version) SELECT sku, name, price_minor, currency, 1 FROM catalog.products;
SQL
}

# pgbench's orders a second on the pipeline's writes in DB, with CLIENTS clients for SECONDS
# (the reference of the order pipeline's figures and of the soak's rate).
op_pgbench_rate() {
    local db="$1" clients="$2" seconds="$3"
    "$PGBENCH" -h 127.0.0.1 -U emporium -n -M prepared -c "$clients" -j $((clients < 2 ? clients : 2)) -T "$seconds" \
        -f Benchmarks/pgbench/order-pipeline.sql "$db" 2>>"$OP_DIR/pgbench.log" | awk '/^tps = / {print $3; exit}'
}

order_pipeline_bench() {
    local clients="${BENCH_LOADTEST_CLIENTS:-16}" orders="${BENCH_LOADTEST_ORDERS:-2000}" pg_seconds="${BENCH_PGBENCH_SECONDS:-20}"
    local fleet_db=emporium_bench pgbench_db=emporium_bench_pgbench
    local emporium port db_url replica_url round _

    echo "building emporium (release)..." >&2
    swift build -c release --product emporium >&2
    emporium="$(swift build -c release --show-bin-path)/emporium"
    OP_DIR="$(mktemp -d /tmp/emporium-order-pipeline.XXXXXX)"
    CLEANUPS+=(order_pipeline_stop)
    echo "order pipeline: logs in $OP_DIR" >&2

    # Two fresh databases: the fleet's, and pgbench's (the relay would publish pgbench's outbox rows).
    local db
    for db in "$fleet_db" "$pgbench_db"; do op_new_database "$emporium" "$db"; done
    op_seed_pgbench "$pgbench_db"
    # The fleet on the bench's database, warmed up; `port` is its API's.
    op_fleet_start() {
        op_fleet_up "$emporium" "$fleet_db" api relay "worker product" "worker order" || return 1
        port="$OP_PORT"
        echo "order pipeline: fleet up (api :$port, namespace $OP_NAMESPACE); warming up" >&2
        "$emporium" loadtest --url "http://127.0.0.1:$port" --clients "$clients" --orders 200 --json >/dev/null 2>>"$OP_DIR/loadtest.log"
    }
    op_fleet_start || return 1
    # The full-speed rounds, too, measure the fleet as it runs for good: until 7 Dec the first of
    # them ran inside the guard's window (the warm-up ends a few seconds after start-up), and
    # paid the guard's Redis round trips for every Kafka message that the later rounds did not.
    op_wait_out_guard
    # A new fleet (a new development Kafka and RabbitMQ namespace; the database is kept) for a paced
    # run, as for the capacity search below: librdkafka's mock broker slows down as it fills (see
    # there), and after the full-speed rounds each paced round had measured it more than the last
    # (p50 65, 123, 197 ms in one run). It waits out the Redis guard's time to live after the
    # partitions were assigned (MESSAGING_GUARD_TTL, 30 s), in which every Kafka message also takes
    # the guard (MessageProcessor), so that the paced run measures the fleet as it runs for good.
    op_fresh_fleet() {
        order_pipeline_stop
        op_fleet_start || return 1
        op_wait_out_guard
    }

    local rates=() p50s=() p95s=() p99s=() tps=() errors=0 unresolved=0
    local paced_rates=() paced_p50s=() paced_p95s=() paced_p99s=() paced_errors=0 paced_unresolved=0
    local pace="${BENCH_LOADTEST_PACE:-0.51}" paced_seconds="${BENCH_LOADTEST_PACED_SECONDS:-15}"
    # Every measured run starts after a vacuum of both databases and a checkpoint, so none pays for
    # the one before it. A pgbench round leaves some 11,000 orders' dead rows behind and a loadtest
    # round a few thousand; left to autovacuum, they were cleaned up while a later run was measured
    # (once around the loadtest's second and third full-speed rounds). That was not what makes the
    # later full-speed rounds slower, though: with the vacuum they still were (463, 400, 372/s).
    op_checkpoint() {
        local db
        for db in "$fleet_db" "$pgbench_db"; do
            psql -X -q -h 127.0.0.1 -U postgres -d "$db" -c "VACUUM (ANALYZE)" >/dev/null
        done
        psql -X -q -h 127.0.0.1 -U postgres -d postgres -c CHECKPOINT >/dev/null
    }
    # Runs one loadtest (arguments: --orders N, or --rate R --duration D) and prints
    # "rate p50 p95 p99 errors unresolved"; the rate is the report's field `rate_key`
    # (ordersPerSecond, the orders accepted per second, unless set). A missing field falls back to
    # ordersPerSecond: decidedPerSecond is missing when an order was left undecided, which the
    # line's `unresolved` then says.
    # With `sample` set, the machine's CPU is recorded each second of the round beside it
    # (Benchmarks/probe_snapshot.py seconds, about 0.3 % of a core) in $OP_DIR/seconds.ROUND.txt,
    # and one line says how much of the two cores was left idle: a paced round that misses its
    # latency shows whether it ran out of CPU (docs/benchmarks.md, "What a slow second is short of").
    op_loadtest_once() {
        local report sampler="" seconds="$OP_DIR/seconds.${round// /-}.txt"
        echo "order pipeline: loadtest round $round $*" >>"$OP_DIR/loadtest.log"
        op_checkpoint
        if [[ -n ${sample:-} ]]; then
            PROBE_PIDS="${OP_PIDS[*]} $OP_KAFKA_PID" PROBE_DATABASE="$fleet_db" \
                python3 Benchmarks/probe_snapshot.py seconds 3600 >"$seconds" 2>/dev/null &
            sampler=$!
        fi
        report="$("$emporium" loadtest --url "http://127.0.0.1:$port" --clients "${load_clients:-$clients}" --json "$@" 2>>"$OP_DIR/loadtest.log")"
        if [[ -n $sampler ]]; then
            kill "$sampler" 2>/dev/null || true
            wait "$sampler" 2>/dev/null || true  # 143: ended by the kill (and `set -e` is on in run.sh)
            python3 - "$seconds" "$round" <<'PY' | tee -a "$OP_DIR/loadtest.log" >&2
import re, statistics, sys
idle = [int(m) for m in re.findall(r" idle +(\d+) ", open(sys.argv[1]).read())]
steal = [int(m) for m in re.findall(r" steal +(\d+) ", open(sys.argv[1]).read())]
if idle:
    print(f"order pipeline: round {sys.argv[2]}: idle of both cores each second: median {statistics.median(idle):.0f} %, "
          f"lowest {min(idle)} %, {sum(i < 5 for i in idle)} of {len(idle)} seconds under 5 %; steal at most {max(steal)} % ({sys.argv[1]})")
PY
        fi
        echo "$report" >>"$OP_DIR/loadtest.jsonl"
        op_alive || return 1
        python3 -c 'import json,sys
d = json.loads(sys.argv[1]); l = d.get("latencyMs") or {}
print(d.get(sys.argv[2]) or d["ordersPerSecond"], l.get("p50", 0), l.get("p95", 0), l.get("p99", 0), sum(d["errors"].values()), d["unresolved"])' \
            "$report" "${rate_key:-ordersPerSecond}"
    }
    # At full speed the rate is the orders decided per second, from the first POST to the last
    # stock decision: pgbench's rate counts all three transactions of an order, and the API
    # accepts orders faster than the workers decide them, so the accepted rate counted the
    # decisions' work only in part (it ran on after the round, at the expense of the next one:
    # 577, 434 and 429 accepted a second in one run, when the first round ended with a backlog of
    # seconds and the last with almost none; docs/benchmarks.md, "Full speed counted accepted orders").
    op_loadtest() {
        local rate p50 p95 p99 failed waiting
        read -r rate p50 p95 p99 failed waiting < <(rate_key=decidedPerSecond op_loadtest_once --orders "$orders") || return 1
        rates+=("$rate"); p50s+=("$p50"); p95s+=("$p95"); p99s+=("$p99")
        errors=$((errors + failed)); unresolved=$((unresolved + waiting))
    }
    op_pgbench() {
        op_checkpoint
        tps+=("$(op_pgbench_rate "$pgbench_db" "$clients" "$pg_seconds")")
    }
    # Paced at $1 x the median pgbench rate of all rounds (one round's pgbench varies by 10%), with
    # the capacity search's clients: paced, more clients add no load, but each sends one POST at a
    # time, and 16 fell short of the rate when POSTs slowed down. Prints what op_loadtest_once does.
    op_paced_once() {
        local offered
        offered="$(python3 -c 'import sys; print(round(float(sys.argv[1]) * float(sys.argv[2]), 1))' "$(median "${tps[@]}")" "$1")"
        sample=1 load_clients="${BENCH_CAPACITY_CLIENTS:-64}" op_loadtest_once --rate "$offered" --duration "${paced_seconds}s"
    }
    op_paced() {
        local rate p50 p95 p99 failed waiting
        op_fresh_fleet || return 1
        read -r rate p50 p95 p99 failed waiting < <(op_paced_once "$pace") || return 1
        paced_rates+=("$rate"); paced_p50s+=("$p50"); paced_p95s+=("$p95"); paced_p99s+=("$p99")
        paced_errors=$((paced_errors + failed)); paced_unresolved=$((paced_unresolved + waiting))
    }
    for ((round = 0; round < ROUNDS; round++)); do
        if ((round % 2 == 0)); then op_loadtest; op_pgbench; else op_pgbench; op_loadtest; fi
    done
    # pgbench's rate for the soak below (its load is a fraction of it).
    OP_REFERENCE_RATE="$(median "${tps[@]}")"
    # Each role's peak resident memory so far (VmHWM, the kernel's high-water mark): start-up,
    # warm-up and the full-speed rounds.
    local peaks=() index
    for index in "${!OP_PIDS[@]}"; do
        peaks+=("${OP_ROLES[$index]}:$(awk '/^VmHWM:/ {print $2}' "/proc/${OP_PIDS[$index]}/status")")
    done
    # A round whose fleet or load test failed is reported and left out; the others still count.
    for ((round = 0; round < ROUNDS; round++)); do
        op_paced || echo "order pipeline: paced round $round failed; see $OP_DIR/loadtest.log" >&2
    done
    # One run at each of the other paces (BENCH_LOADTEST_OTHER_PACES), for the latency's curve.
    # A failed one is reported and left out: the other figures are still recorded.
    local other_paces=() other_pace other
    for other_pace in ${BENCH_LOADTEST_OTHER_PACES-0.25 0.75}; do
        if [[ ! $other_pace =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
            echo "order pipeline: BENCH_LOADTEST_OTHER_PACES: '$other_pace' is not a number; skipped" >&2
            continue
        fi
        if op_fresh_fleet && other="$(round="pace $other_pace" op_paced_once "$other_pace")" && [[ $(wc -w <<<"$other") -eq 6 ]]; then
            other_paces+=("$other_pace $other")
        else
            echo "order pipeline: the run paced at $other_pace x pgbench failed; see $OP_DIR/loadtest.log" >&2
        fi
    done
    # Capacity: the highest paced rate whose p99 POST -> decided stays within the bound for a
    # whole step (emporium loadtest --find-capacity), as a ratio of pgbench's rate.
    # More clients than the rounds above: paced, they add no load, but each sends one POST at a
    # time, so 16 could not offer more than 16 / (a POST's time) orders a second.
    local bound="${BENCH_CAPACITY_BOUND:-250ms}" step="${BENCH_CAPACITY_STEP:-20s}" capacity_clients="${BENCH_CAPACITY_CLIENTS:-64}" capacity
    # The capacity search starts on a new development Kafka and RabbitMQ namespace (the database is
    # kept, and the warm-up repeated): librdkafka's mock broker finds a fetch's offset by walking
    # the partition's message sets from the first, so its CPU per order grows with all it holds
    # (0.34 ms an order on a new one, 0.93 after 30,000 orders, while the rest of the fleet's stayed
    # the same; docs/benchmarks.md), where Kafka looks offsets up in an index. After the rounds
    # above (some 30,000 orders) the search measured the mock more than the pipeline. Its first,
    # slow steps cover the workers' first 30 s after their partitions were assigned, in which each
    # message also takes a Redis guard (MessageProcessor); the paced rounds above run past them.
    # A failure from here on costs the capacity line only: the figures above are still recorded.
    capacity=""
    order_pipeline_stop
    if op_fleet_start; then
        echo "order pipeline: capacity search (p99 <= $bound for $step per rate)" >>"$OP_DIR/loadtest.log"
        op_checkpoint
        capacity="$("$emporium" loadtest --url "http://127.0.0.1:$port" --clients "$capacity_clients" --json --find-capacity \
            --latency-bound "$bound" --step-duration "$step" 2>>"$OP_DIR/loadtest.log")" || capacity=""
        echo "$capacity" >>"$OP_DIR/capacity.json"
    fi
    [[ -n $capacity ]] || echo "order pipeline: the capacity search failed; its line is left out (see $OP_DIR)" >&2
    order_pipeline_stop

    op_latency() {
        python3 -c 'import json,sys; p50,p95,p99,e,u,r=sys.argv[1:]
print(json.dumps({"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "errors": int(e), "unresolved": int(u), "rounds": int(r)}))' "$@"
    }
    record "order pipeline: emporium loadtest at full speed, orders decided per second, $clients clients, $orders orders, fleet of 4 processes (vs pgbench, the same writes per order)" \
        "$(median "${rates[@]}")" "$(median "${tps[@]}")" "orders/s" \
        "$(op_latency "$(median "${p50s[@]}")" "$(median "${p95s[@]}")" "$(median "${p99s[@]}")" "$errors" "$unresolved" "$ROUNDS")"
    # Messages per order: the outbox rows the fleet wrote for its orders (product.* excluded),
    # against the 4 pgbench's script writes (order.created, the first timer, stock.reserved, the
    # confirmation mail). More would mean extra hops or duplicates; the run is shorter than the
    # first reminder, so each order has its first timer only.
    local per_order
    per_order="$(psql -X -q -At -h 127.0.0.1 -U emporium -d "$fleet_db" -c "
        SELECT json_build_object('messages', (SELECT count(*) FROM messaging.outbox WHERE message_type NOT LIKE 'product.%'),
            'orders', (SELECT count(*) FROM ordering.orders),
            'by_type', (SELECT json_object_agg(message_type, n) FROM (SELECT message_type, count(*) AS n FROM messaging.outbox
                WHERE message_type NOT LIKE 'product.%' GROUP BY 1) t))")"
    record "order pipeline: messages per order, outbox rows (vs the 4 of pgbench's script)" \
        "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["messages"] / max(d["orders"], 1))' "$per_order")" 4 "msg/order" \
        "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(json.dumps({"orders": d["orders"], "by_type": d["by_type"]}))' "$per_order")"
    [[ -z $capacity ]] || record "order pipeline: capacity, the highest paced rate with p99 POST -> stock decided <= $bound for $step (emporium loadtest --find-capacity; vs pgbench)" \
        "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["capacity"])' "$capacity")" "$(median "${tps[@]}")" "orders/s" \
        "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(json.dumps({"bound_ms": d["boundMs"], "probes": len(d["probes"]), "reached_maximum": d["reachedMaximum"]}))' "$capacity")"
    local peak
    for peak in "${peaks[@]}"; do
        record "order pipeline: peak resident memory of emporium ${peak%%:*} after the full-speed rounds (vs the 150 MiB ceiling)" \
            "$(python3 -c 'import sys; print(int(sys.argv[1]) / 1024)' "${peak##*:}")" 150 "MiB"
    done
    ((${#paced_rates[@]} == 0)) || record "order pipeline: emporium loadtest paced at $pace x pgbench's rate for ${paced_seconds} s (target: ratio >= 0.5, p50 < 50 ms, p99 < 250 ms)" \
        "$(median "${paced_rates[@]}")" "$(median "${tps[@]}")" "orders/s" \
        "$(op_latency "$(median "${paced_p50s[@]}")" "$(median "${paced_p95s[@]}")" "$(median "${paced_p99s[@]}")" "$paced_errors" "$paced_unresolved" "${#paced_rates[@]}")"
    local rate p50 p95 p99 failed waiting
    for other in "${other_paces[@]}"; do
        read -r other_pace rate p50 p95 p99 failed waiting <<<"$other"
        record "order pipeline: emporium loadtest paced at $other_pace x pgbench's rate for ${paced_seconds} s (one run)" \
            "$rate" "$(median "${tps[@]}")" "orders/s" "$(op_latency "$p50" "$p95" "$p99" "$failed" "$waiting" 1)"
    done
}

# Soak: the fleet (with the mail worker) with every retention at its floor, 1 minute, under
# BENCH_SOAK_PACE (0.25) x pgbench's rate on the same writes (the order pipeline's median, or one
# round of its own when run alone; BENCH_SOAK_RATE=N orders a second instead) for
# BENCH_SOAK_MINUTES (6; 0 skips it), counting the
# tables that grow with every order every BENCH_SOAK_SAMPLE_SECONDS (5). A pruned table levels off
# at about the rate times its retention plus the purges' minute; ordering.orders, kept for good,
# grows throughout. Each table's line compares its largest count in the run's last third with the
# middle third's (1: it levelled off). A table purged once a minute swings between about one and
# two minutes of rows, so the samples must be dense enough to catch each third's peaks: every
# 30 s they were not (on 5 Dec the mail records read 1.31, 9,279 against 12,128 rows, while every
# sample stayed between 6,000 and 12,200: the purge's period drifted against the samples').
# The rate follows the machine: a fixed 100 a second was a fifth of pgbench's rate on a fast day and
# the fleet's whole capacity on a slow one (pgbench 185/s on 6 Dec), where the decisions, and the
# mails that follow them, fell behind while the load ran and the mail records did not level off.
order_pipeline_soak() {
    local minutes="${BENCH_SOAK_MINUTES:-6}" rate="${BENCH_SOAK_RATE:-}" db=emporium_soak emporium sampler
    ((minutes > 0)) || return 0
    echo "building emporium (release)..." >&2
    swift build -c release --product emporium >&2
    emporium="$(swift build -c release --show-bin-path)/emporium"
    OP_DIR="$(mktemp -d /tmp/emporium-soak.XXXXXX)"
    CLEANUPS+=(order_pipeline_stop)
    echo "soak: logs in $OP_DIR" >&2
    if [[ -z $rate ]]; then
        if [[ -z ${OP_REFERENCE_RATE:-} ]]; then
            op_new_database "$emporium" emporium_soak_pgbench && op_seed_pgbench emporium_soak_pgbench || return 1
            OP_REFERENCE_RATE="$(op_pgbench_rate emporium_soak_pgbench "${BENCH_LOADTEST_CLIENTS:-16}" "${BENCH_PGBENCH_SECONDS:-20}")"
            [[ -n $OP_REFERENCE_RATE ]] || { echo "soak: pgbench failed; see $OP_DIR/pgbench.log" >&2; return 1; }
        fi
        rate="$(python3 -c 'import sys; print(max(1, round(float(sys.argv[1]) * float(sys.argv[2]))))' "$OP_REFERENCE_RATE" "${BENCH_SOAK_PACE:-0.25}")"
        echo "soak: pgbench's rate $OP_REFERENCE_RATE orders/s; the soak's, ${BENCH_SOAK_PACE:-0.25} x that" >&2
    fi
    PGOPTIONS="-c client_min_messages=warning" psql -X -q -h 127.0.0.1 -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER emporium"
    POSTGRES_PRIMARY_URL="postgresql://emporium:emporium@127.0.0.1:5432/$db" POSTGRES_REPLICA_URL="" \
        PGOPTIONS="-c client_min_messages=warning" "$emporium" migrate >/dev/null 2>>"$OP_DIR/migrate.log"
    OP_EXTRA_ENV=(MESSAGING_INBOX_RETENTION=1m ORDER_IDEMPOTENCY_RETENTION=1m OUTBOX_RETENTION=1m MAIL_RETENTION=1m)
    op_fleet_up "$emporium" "$db" api relay "worker product" "worker order" "worker mail" || return 1
    OP_EXTRA_ENV=()
    echo "soak: $rate orders/s for $minutes min (fleet on :$OP_PORT)" >&2
    # Samples while the orders are being sent (the load test's decision phase after it is not
    # part of the soak; its polls are cut short too).
    local every="${BENCH_SOAK_SAMPLE_SECONDS:-5}"
    (
        for _ in $(seq $((minutes * 60 / every + 1))); do
            psql -X -q -At -F ' ' -h 127.0.0.1 -U emporium -d "$db" -c "SELECT extract(epoch FROM now())::bigint,
                (SELECT count(*) FROM messaging.inbox), (SELECT count(*) FROM ordering.idempotency_keys),
                (SELECT count(*) FROM messaging.outbox), (SELECT count(*) FROM mailing.mails), (SELECT count(*) FROM ordering.orders)"
            sleep "$every"
        done
    ) >"$OP_DIR/soak-counts.txt" 2>>"$OP_DIR/soak-sampler.log" &
    sampler=$!
    "$emporium" loadtest --url "http://127.0.0.1:$OP_PORT" --clients 64 --rate "$rate" --duration "${minutes}m" --decision-timeout 10s \
        --json >"$OP_DIR/soak-loadtest.json" 2>>"$OP_DIR/loadtest.log" || echo "soak: the load test failed; see $OP_DIR" >&2
    wait "$sampler" 2>/dev/null || true
    order_pipeline_stop
    local index table column line last middle samples
    for column in "2 messaging.inbox" "3 ordering.idempotency_keys" "4 messaging.outbox" "5 mailing.mails" "6 ordering.orders (kept)"; do
        read -r index table <<<"$column"
        line="$(python3 - "$OP_DIR/soak-counts.txt" "$index" <<'PY'
import json, sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 6]
column = int(sys.argv[2]) - 1
third = max(len(rows) // 3, 1)
middle = [r[column] for r in rows[third:2 * third]] or [0]
last = [r[column] for r in rows[-third:]] or [0]
print(max(last), max(middle), json.dumps({"samples": [r[column] for r in rows]}))
PY
)"
        read -r last middle samples <<<"$line"
        record "soak: $table rows, largest in the last third vs the middle third of ${minutes} min at $rate orders/s, retentions 1m (1 = levelled off)" \
            "$last" "$middle" "rows" "$samples"
    done
}
