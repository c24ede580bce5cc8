#!/usr/bin/env bash
# `make bench`: our wrappers against the reference tools, in one run, on the local services.
#
#   Postgres: the order+outbox transaction (order_outbox.pgbench) through our pool vs pgbench -M prepared,
#             with 1, 4 and 16 clients, leasing per transaction (clients on the connection loops, and at
#             16 clients also off them) and holding a connection per client.
#   Redis:    SET key value NX PX 30000 through our pool vs redis-benchmark, 16 clients, pipeline 1 and 16.
#   Kafka:    produce and consume 200 B keyed messages, 16 partitions, through our wrapper vs kcat, on a
#             development Kafka (mock cluster) of the run's own.
#   AMQP:     publish with confirms (batches of 1,000) and consume with prefetch 1,000 (ack each), 100 B
#             persistent messages on a quorum queue, through our wrapper vs Benchmarks/amqp_reference.c.
#   Relay:    outbox rows to acknowledged Kafka messages (~200 B envelopes, 16 partitions) vs the
#             lower of its two ceilings: kcat producing as many 200 B messages, and pgbench running
#             the relay's own claim and mark-sent SQL at its batch size (Benchmarks/messaging.sh;
#             BENCH_ONLY=relay runs only this one).
#   Inbox:    the messaging runtime's Kafka consumer, an insert per message in the handler's
#             transaction, with the inbox vs the same consumer without it (target: ratio >= 0.7).
#   Orders:   the fleet (api, relay, workers) under `emporium loadtest` vs pgbench doing the same
#             database writes per order, counting orders decided per second (Benchmarks/order_pipeline.sh;
#             targets: ratio >= 0.8 at full speed; paced at 0.5 x, p50 POST -> stock decided < 50 ms
#             and p99 < 250 ms). BENCH_ONLY=order-pipeline runs only this one.
#   Reads:    a product page over GraphQL (one POST) vs REST (two GETs), `emporium loadtest --page`
#             (Benchmarks/read_apis.sh; BENCH_ONLY=reads runs only this one).
#   Soak:     the fleet with every retention at 1 minute for 6 minutes, loaded at a quarter of
#             pgbench's rate on the same writes (BENCH_SOAK_PACE, or BENCH_SOAK_RATE orders/s): the inbox,
#             idempotency keys, outbox and mail records level off (BENCH_SOAK_MINUTES, 0 skips it;
#             BENCH_ONLY=soak runs only this one).
#
# Prints a table and appends one JSON object per comparison to bench-results.jsonl:
#   {"name":..., "ours":..., "reference":..., "unit":..., "ratio":...}   (ratio = ours / reference)
# (the order pipeline's line also has p50_ms, p95_ms, p99_ms, errors, unresolved and rounds).
# The machine is shared and noisy: each pair runs BENCH_ROUNDS times (default 3), alternating which
# side goes first, and the medians are compared. BENCH_SECONDS (default 5) sets each Postgres run's
# length; BENCH_REDIS_REQUESTS (default 400000) each Redis run's size.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
eval "$(bash deploy/local/services.sh env)"
SECONDS_PER_RUN="${BENCH_SECONDS:-5}"
ROUNDS="${BENCH_ROUNDS:-3}"
REDIS_REQUESTS="${BENCH_REDIS_REQUESTS:-400000}"
RESULTS="$ROOT/bench-results.jsonl"
PGBENCH=/usr/lib/postgresql/15/bin/pgbench
ONLY="${BENCH_ONLY:-}"
export PGPASSWORD=emporium

# What each section starts, stopped on any exit (a failure, ^C) as well.
CLEANUPS=()
cleanup() {
    local step
    for step in "${CLEANUPS[@]}"; do eval "$step" || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z $ONLY || $ONLY == relay ]]; then
    echo "building the benchmark (release)..." >&2
    swift build -c release --product EmporiumBench >&2
    BENCH="$(swift build -c release --show-bin-path)/EmporiumBench"
fi

PGOPTIONS="-c client_min_messages=warning" psql -X -q -h 127.0.0.1 -U postgres -d emporium -c "CREATE SCHEMA IF NOT EXISTS bench AUTHORIZATION emporium"
psql -X -q -h 127.0.0.1 -U emporium -d emporium <<'SQL'
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS bench.orders (
    id uuid PRIMARY KEY, customer_id bigint NOT NULL, total_minor bigint NOT NULL,
    currency text NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS bench.outbox (
    id bigserial PRIMARY KEY, aggregate_id uuid NOT NULL, type text NOT NULL,
    payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
SQL
reset_tables() { psql -X -q -h 127.0.0.1 -U emporium -d emporium -c "TRUNCATE bench.orders, bench.outbox"; }

value_of() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["value"])'; }

ROWS=()
# record NAME OURS REFERENCE UNIT [EXTRA]: EXTRA is a JSON object of further fields for the line.
record() {
    local name="$1" ours="$2" reference="$3" unit="$4" extra="${5:-}"
    local line
    [[ -n $extra ]] || extra='{}'
    line="$(python3 -c 'import json,sys; n,o,r,u,x=sys.argv[1:]; o=float(o); r=float(r); print(json.dumps({"name":n,"ours":round(o,1),"reference":round(r,1),"unit":u,"ratio":round(o/r,3) if r else None, **json.loads(x)}))' \
        "$name" "$ours" "$reference" "$unit" "$extra")"
    echo "$line" >>"$RESULTS"
    ROWS+=("$line")
}

print_table() {
    printf '\n%-90s %12s %12s %8s %7s\n' BENCHMARK OURS REFERENCE UNIT RATIO
    for line in "${ROWS[@]}"; do
        python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%-90s %12.1f %12.1f %8s %7s" % (d["name"], d["ours"], d["reference"], d["unit"], "-" if d["ratio"] is None else "%.3f" % d["ratio"]))
if "p99_ms" in d: print("    POST -> stock decided: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms (medians of %d rounds); %d errors, %d orders undecided" % (d["p50_ms"], d["p95_ms"], d["p99_ms"], d["rounds"], d["errors"], d["unresolved"]))' "$line"
    done
    echo "appended to $RESULTS (targets: ratio >= 0.8 for Postgres and Redis, >= 0.9 for Kafka and AMQP, >= 0.7 for the inbox, >= 0.8 for the order pipeline at full speed, p50 < 50 ms and p99 < 250 ms paced at 0.5)"
}

median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

# Runs "reference" and "ours" (shell functions) ROUNDS times, alternating the order; sets REF and OURS to medians.
compare() {
    local refs=() ourses=() round
    for ((round = 0; round < ROUNDS; round++)); do
        if ((round % 2 == 0)); then refs+=("$(reference)"); ourses+=("$(ours)"); else ourses+=("$(ours)"); refs+=("$(reference)"); fi
    done
    REF="$(median "${refs[@]}")"
    OURS="$(median "${ourses[@]}")"
}

# shellcheck source=Benchmarks/order_pipeline.sh
source "$ROOT/Benchmarks/order_pipeline.sh"
# shellcheck source=Benchmarks/read_apis.sh
source "$ROOT/Benchmarks/read_apis.sh"
# shellcheck source=Benchmarks/messaging.sh
source "$ROOT/Benchmarks/messaging.sh"
if [[ -n $ONLY ]]; then
    case $ONLY in
        order-pipeline) order_pipeline_bench ;;
        soak) order_pipeline_soak ;;
        reads) read_apis_bench ;;
        relay) start_bench_kafka; relay_bench ;;
        *) echo "BENCH_ONLY: order-pipeline, reads, relay or soak can run alone, not $ONLY" >&2; exit 2 ;;
    esac
    print_table
    exit 0
fi

# Three ways of using our pool: one lease per transaction from a long-lived client that runs on a
# connection loop (`PostgresPool.withLoopAffinity`, as the relay's loops do: its leases take that
# loop's connections and change no thread), the same from clients on Swift's global executor
# (what a request handler does: a thread hand-off onto the loop and back per lease; 16 clients
# only), and one lease per client for the whole run (as a pgbench client holds its connection).
for mode in per-transaction without-affinity held; do
    flag=""
    label="a lease per transaction"
    client_counts="1 4 16"
    if [[ $mode == without-affinity ]]; then flag="--without-affinity"; label="a lease per transaction, clients off the loops"; client_counts="16"; fi
    if [[ $mode == held ]]; then flag="--hold-connection"; label="a connection held per client"; fi
    for clients in $client_counts; do
        threads=$((clients < 2 ? clients : 2))
        reference() {
            reset_tables
            "$PGBENCH" -h 127.0.0.1 -U emporium -n -M prepared -c "$clients" -j "$threads" -T "$SECONDS_PER_RUN" \
                -f Benchmarks/order_outbox.pgbench emporium 2>/dev/null | awk '/^tps = / {print $3; exit}'
        }
        ours() {
            reset_tables
            "$BENCH" postgres --clients "$clients" --seconds "$SECONDS_PER_RUN" $flag | value_of
        }
        compare
        record "postgres order+outbox tx, $clients clients, $label (vs pgbench -M prepared)" "$OURS" "$REF" "tx/s"
    done
done

for pipeline in 1 16; do
    reference() {
        redis-benchmark -h 127.0.0.1 -p 6379 -c 16 -P "$pipeline" -n "$REDIS_REQUESTS" -r 1000000 --csv \
            SET bench:__rand_int__ value NX PX 30000 | tail -n1 | cut -d, -f2 | tr -d '"'
    }
    ours() { "$BENCH" redis --concurrency 16 --pipeline "$pipeline" --requests "$REDIS_REQUESTS" | value_of; }
    compare
    record "redis SET NX PX, 16 clients, pipeline $pipeline (vs redis-benchmark)" "$OURS" "$REF" "ops/s"
done

# MARK: Kafka

start_bench_kafka

produce_round=0
reference() { kcat_produce_rate "ref-$produce_round" "$KAFKA_DIR/messages" "$KAFKA_MESSAGES"; }
ours() { "$BENCH" kafka-produce --bootstrap "$KAFKA" --topic "ours-$produce_round" --messages "$KAFKA_MESSAGES" --size 200 | value_of; }
refs=() ; ourses=()
for ((produce_round = 0; produce_round < ROUNDS; produce_round++)); do
    if ((produce_round % 2 == 0)); then refs+=("$(reference)"); ourses+=("$(ours)"); else ourses+=("$(ours)"); refs+=("$(reference)"); fi
done
record "kafka produce, 200 B keyed, 16 partitions (vs kcat)" "$(median "${ourses[@]}")" "$(median "${refs[@]}")" "msg/s"

# Both read the same topic (kcat's, from the produce rounds above), so they fetch the same batches;
# until 7 Dec ours read the topic our producer wrote, and kcat always went first.
reference() { kcat -C -b "$KAFKA" -t "ref-$round" -o beginning -e -q -f '%p\n' | python3 -c "$RATE" "$KAFKA_MESSAGES"; }
ours() { "$BENCH" kafka-consume --bootstrap "$KAFKA" --topic "ref-$round" --messages "$KAFKA_MESSAGES" | value_of; }
refs=() ; ourses=()
for ((round = 0; round < ROUNDS; round++)); do
    if ((round % 2 == 0)); then refs+=("$(reference)"); ourses+=("$(ours)"); else ourses+=("$(ours)"); refs+=("$(reference)"); fi
done
record "kafka consume, 200 B keyed, 16 partitions (vs kcat)" "$(median "${ourses[@]}")" "$(median "${refs[@]}")" "msg/s"

# MARK: AMQP

AMQP_MESSAGES="${BENCH_AMQP_MESSAGES:-100000}"
cc -O2 -o "$KAFKA_DIR/amqp_reference" Benchmarks/amqp_reference.c -lrabbitmq
AMQP_QUEUE="bench.amqp.$RANDOM$RANDOM"
"$BENCH" amqp-publish --queue "$AMQP_QUEUE" --count 0 >/dev/null
reference() { BATCH=1000 "$KAFKA_DIR/amqp_reference" publish 127.0.0.1 5672 emporium emporium "$AMQP_QUEUE" "$AMQP_MESSAGES" 100 | value_of; }
ours() { "$BENCH" amqp-publish --queue "$AMQP_QUEUE" --count "$AMQP_MESSAGES" --size 100 --batch 1000 | value_of; }
compare
record "amqp publish with confirms, batches of 1,000, quorum queue (vs rabbitmq-c)" "$OURS" "$REF" "msg/s"
reference() { "$KAFKA_DIR/amqp_reference" consume 127.0.0.1 5672 emporium emporium "$AMQP_QUEUE" "$AMQP_MESSAGES" 1000 | value_of; }
ours() { "$BENCH" amqp-consume --queue "$AMQP_QUEUE" --count "$AMQP_MESSAGES" --prefetch 1000 | value_of; }
compare
record "amqp consume with prefetch 1,000, ack each, quorum queue (vs rabbitmq-c)" "$OURS" "$REF" "msg/s"

# MARK: Messaging runtime

CONSUMER_MESSAGES="${BENCH_CONSUMER_MESSAGES:-20000}"
relay_bench

refs=() ; ourses=()
for ((round = 0; round < ROUNDS; round++)); do
    reference() { "$BENCH" consumer --bootstrap "$KAFKA" --topic "plain-$round" --messages "$CONSUMER_MESSAGES" --no-inbox | value_of; }
    ours() { "$BENCH" consumer --bootstrap "$KAFKA" --topic "inbox-$round" --messages "$CONSUMER_MESSAGES" | value_of; }
    if ((round % 2 == 0)); then refs+=("$(reference)"); ourses+=("$(ours)"); else ourses+=("$(ours)"); refs+=("$(reference)"); fi
done
record "messaging consumer with the inbox (vs the same consumer without it)" "$(median "${ourses[@]}")" "$(median "${refs[@]}")" "msg/s"

# MARK: Order pipeline

order_pipeline_bench
read_apis_bench
order_pipeline_soak

print_table
