# shellcheck shell=bash
# Sourced by Benchmarks/run.sh: the run's development Kafka, kcat's rates, and the relay section.

KAFKA_MESSAGES="${BENCH_KAFKA_MESSAGES:-200000}"

# Messages per second between the first and the last line read from stdin.
RATE='import sys,time
n=int(sys.argv[1]); first=None; count=0
for line in sys.stdin:
    count+=1
    if first is None: first=time.monotonic()
    if count==n: break
print((count-1)/(time.monotonic()-first))'
KCAT_PRODUCER=(-X enable.idempotence=true -X acks=all -X linger.ms=5 -X batch.num.messages=10000)

# The run's own development Kafka (mock cluster) with every topic the Kafka and relay sections use.
start_bench_kafka() {
    KAFKA_DIR="$(mktemp -d)"
    EMPORIUM="$(swift build --show-bin-path)/emporium"
    [[ -x "$EMPORIUM" ]] || swift build --product emporium >&2
    kafka_topics=""
    for ((round = 0; round < ROUNDS; round++)); do
        kafka_topics+="ref-$round:16,ours-$round:16,relay-ref-$round:16,relay-$round:16,inbox-$round:16,plain-$round:16,"
    done
    "$EMPORIUM" dev kafka --bootstrap-file "$KAFKA_DIR/bootstrap" --topics "${kafka_topics%,}" >"$KAFKA_DIR/log" 2>&1 &
    KAFKA_PID=$!
    CLEANUPS+=("kill $KAFKA_PID 2>/dev/null; rm -rf '$KAFKA_DIR'")
    for _ in $(seq 100); do [[ -s "$KAFKA_DIR/bootstrap" ]] && break; sleep 0.1; done
    KAFKA="$(tr -d '[:space:]' <"$KAFKA_DIR/bootstrap")"
    python3 -c 'import sys; v="x"*200; sys.stdout.write("".join("key-%d:%s\n" % (i, v) for i in range(int(sys.argv[1]))))' "$KAFKA_MESSAGES" >"$KAFKA_DIR/messages"
}

# Messages per second of kcat producing FILE (COUNT key:value lines) to TOPIC.
kcat_produce_rate() {
    local topic="$1" file="$2" count="$3" start end
    start=$(date +%s.%N)
    kcat -P -b "$KAFKA" -t "$topic" -K: "${KCAT_PRODUCER[@]}" <"$file"
    end=$(date +%s.%N)
    python3 -c "print($count/($end-$start))"
}

# Relay: outbox rows to acknowledged Kafka messages, against the lower of its two ceilings (kcat
# producing as many messages; pgbench running the relay's own SQL). BENCH_ONLY=relay runs it alone.
relay_bench() {
    RELAY_MESSAGES="${BENCH_RELAY_MESSAGES:-100000}"
    PGOPTIONS="-c client_min_messages=warning" "$EMPORIUM" migrate >/dev/null
    head -n "$RELAY_MESSAGES" "$KAFKA_DIR/messages" >"$KAFKA_DIR/relay-messages"
    # The relay's reference is the lower of its two ceilings: kcat producing as many messages, and
    # pgbench running the relay's own claim and mark-sent statements (EmporiumBench relay-sql) at its
    # batch size, with as many clients as the relay has batches in flight (both passed to each
    # side, so they cannot drift apart), on a table filled alike.
    RELAY_BATCH=500
    RELAY_CONCURRENCY=4
    # Both sides start from the same state: the table filled by the same code (not timed), then a
    # checkpoint, so neither pays for the fill's writes.
    relay_fill() {
        "$BENCH" relay --fill-only --topic "$1" --messages "$RELAY_MESSAGES" >/dev/null
        psql -X -q -h 127.0.0.1 -U postgres -d postgres -c CHECKPOINT >/dev/null
    }
    relay_sql_rate() {
        relay_fill unused
        "$BENCH" relay-sql --batch "$RELAY_BATCH" >"$KAFKA_DIR/relay.pgbench"
        local per_client=$(((RELAY_MESSAGES + RELAY_BATCH * RELAY_CONCURRENCY - 1) / (RELAY_BATCH * RELAY_CONCURRENCY)))
        local tps left
        tps="$("$PGBENCH" -h 127.0.0.1 -U emporium -n -M simple -c "$RELAY_CONCURRENCY" -j 2 -t "$per_client" \
            -f "$KAFKA_DIR/relay.pgbench" emporium 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')"
        left="$(psql -X -qtA -h 127.0.0.1 -U emporium -d emporium -c "SELECT count(*) FROM bench.relay_outbox WHERE sent_at IS NULL")"
        if [[ $left != 0 ]]; then echo "relay-sql reference left $left rows unsent" >&2; return 1; fi
        python3 -c 'import sys; print(float(sys.argv[1]) * int(sys.argv[2]))' "$tps" "$RELAY_BATCH"
    }
    refs=() ; kcats=() ; sqls=() ; ourses=()
    for ((round = 0; round < ROUNDS; round++)); do
        reference() {
            local kcat sql
            kcat="$(kcat_produce_rate "relay-ref-$round" "$KAFKA_DIR/relay-messages" "$RELAY_MESSAGES")"
            sql="$(relay_sql_rate)"
            kcats+=("$kcat"); sqls+=("$sql")
            python3 -c 'import sys; print(min(float(x) for x in sys.argv[1:]))' "$kcat" "$sql"
        }
        ours() {
            relay_fill "relay-$round"
            "$BENCH" relay --filled --bootstrap "$KAFKA" --topic "relay-$round" --messages "$RELAY_MESSAGES" \
                --batch "$RELAY_BATCH" --concurrency "$RELAY_CONCURRENCY" | value_of
        }
        # Not in $( ): reference() keeps its two figures in kcats and sqls.
        if ((round % 2 == 0)); then reference >"$KAFKA_DIR/ref"; ourses+=("$(ours)"); else ourses+=("$(ours)"); reference >"$KAFKA_DIR/ref"; fi
        refs+=("$(cat "$KAFKA_DIR/ref")")
    done
    record "outbox relay to kafka, ~200 B envelopes, 16 partitions (vs the lower of kcat and pgbench running its SQL)" \
        "$(median "${ourses[@]}")" "$(median "${refs[@]}")" "msg/s" \
        "{\"kcat\": $(median "${kcats[@]}"), \"pgbench_relay_sql\": $(median "${sqls[@]}"), \"batch\": $RELAY_BATCH}"
}
