# shellcheck shell=bash
# Sourced by run.sh (after order_pipeline.sh, whose fleet helpers it uses). `make bench` runs
# read_apis_bench; BENCH_ONLY=reads runs it alone.
#
# A storefront's product page (the product with its stock, the signed-in customer's cart with
# each line's stock) through the fleet's API, by `emporium loadtest --page`: over GraphQL it is one
# POST /graphql, over REST the same data takes GET /products/{sku} then GET /cart. 16 clients
# for BENCH_PAGE_SECONDS (10) each, BENCH_ROUNDS times alternating which goes first; medians.
# Two lines: pages per second (GraphQL vs REST) and the page's p99 (GraphQL vs REST: below 1 is
# faster).

read_apis_bench() {
    local clients="${BENCH_PAGE_CLIENTS:-16}" seconds="${BENCH_PAGE_SECONDS:-10}" db=emporium_bench_reads emporium round
    echo "building emporium (release)..." >&2
    swift build -c release --product emporium >&2
    emporium="$(swift build -c release --show-bin-path)/emporium"
    OP_DIR="$(mktemp -d /tmp/emporium-read-apis.XXXXXX)"
    CLEANUPS+=(order_pipeline_stop)
    echo "read APIs: logs in $OP_DIR" >&2
    PGOPTIONS="-c client_min_messages=warning" psql -X -q -h 127.0.0.1 -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER emporium"
    POSTGRES_PRIMARY_URL="postgresql://emporium:emporium@127.0.0.1:5432/$db" POSTGRES_REPLICA_URL="" \
        PGOPTIONS="-c client_min_messages=warning" "$emporium" migrate >/dev/null 2>>"$OP_DIR/migrate.log"
    op_fleet_up "$emporium" "$db" api "worker product" "worker order" || return 1

    page_run() {
        "$emporium" loadtest --url "http://127.0.0.1:$OP_PORT" --page "$1" --clients "$clients" --duration "${seconds}s" --json \
            2>>"$OP_DIR/loadtest.log" | tee -a "$OP_DIR/pages.jsonl"
    }
    # Warm both paths (JIT-free, but connection pools, prepared statements, caches).
    "$emporium" loadtest --url "http://127.0.0.1:$OP_PORT" --page graphql --clients "$clients" --duration 2s --json >/dev/null 2>>"$OP_DIR/loadtest.log"
    "$emporium" loadtest --url "http://127.0.0.1:$OP_PORT" --page rest --clients "$clients" --duration 2s --json >/dev/null 2>>"$OP_DIR/loadtest.log"
    local graphql=() rest=()
    for ((round = 0; round < ROUNDS; round++)); do
        if ((round % 2 == 0)); then graphql+=("$(page_run graphql)"); rest+=("$(page_run rest)"); else rest+=("$(page_run rest)"); graphql+=("$(page_run graphql)"); fi
    done
    order_pipeline_stop

    page_median() { # FIELD REPORT...: the median of a field over the reports
        python3 -c 'import json,statistics,sys; f=sys.argv[1]; v=[json.loads(x) for x in sys.argv[2:]]
print(statistics.median((r["latencyMs"] or {}).get("p99", 0) if f == "p99" else r[f] for r in v))' "$@"
    }
    page_errors() { python3 -c 'import json,sys; print(sum(sum(json.loads(x)["errors"].values()) for x in sys.argv[1:]))' "$@"; }
    local extra
    extra="$(python3 -c 'import json,sys; print(json.dumps({"graphql_errors": int(sys.argv[1]), "rest_errors": int(sys.argv[2]), "rounds": int(sys.argv[3])}))' \
        "$(page_errors "${graphql[@]}")" "$(page_errors "${rest[@]}")" "$ROUNDS")"
    record "product page over GraphQL, one POST /graphql, $clients clients (vs REST: GET /products/{sku} + GET /cart)" \
        "$(page_median pagesPerSecond "${graphql[@]}")" "$(page_median pagesPerSecond "${rest[@]}")" "pages/s" "$extra"
    record "product page over GraphQL: p99 latency (vs REST's two requests; below 1 is faster)" \
        "$(page_median p99 "${graphql[@]}")" "$(page_median p99 "${rest[@]}")" "ms" "$extra"
}
