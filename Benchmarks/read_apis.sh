# shellcheck shell=bash
# Sourced by run.sh (after order_pipeline.sh, whose fleet helpers it uses). `make bench` runs
# read_apis_bench; BENCH_ONLY=reads runs it alone.
#
# A storefront's product page (the product with its stock, the signed-in customer's cart with
# each line's stock) through the fleet, by `emporium loadtest --page`: over GraphQL it is one
# POST /graphql, over gRPC one StorefrontService.GetProductPage, over REST the same data takes
# GET /products/{sku} then GET /cart. And a stock lookup of 10 SKUs (`--stock`): one
# StockService.GetStock against ten GET /products/{sku}. 16 clients for BENCH_PAGE_SECONDS (10)
# each, BENCH_ROUNDS times alternating which goes first; medians. Two lines per pair: the rate
# (ours vs REST) and the p99 (ours vs REST: below 1 is faster).

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
    local grpc_port
    grpc_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    OP_EXTRA_ENV=(GRPC_PORT="$grpc_port")
    op_fleet_up "$emporium" "$db" api grpc "worker product" "worker order" || return 1
    OP_EXTRA_ENV=()

    # page_run --page|--stock API [SECONDS]: one report (JSON).
    page_run() {
        "$emporium" loadtest --url "http://127.0.0.1:$OP_PORT" --grpc-target "127.0.0.1:$grpc_port" "$1" "$2" --clients "$clients" \
            --duration "${3:-$seconds}s" --json 2>>"$OP_DIR/loadtest.log" | tee -a "$OP_DIR/pages.jsonl"
    }
    # Warm every path (connection pools, prepared statements, caches).
    local warm
    for warm in "--page graphql" "--page grpc" "--page rest" "--stock grpc" "--stock rest"; do
        # shellcheck disable=SC2086 # two words
        page_run $warm 2 >/dev/null
    done
    local graphql=() rest=() grpc=() stock_grpc=() stock_rest=()
    for ((round = 0; round < ROUNDS; round++)); do
        if ((round % 2 == 0)); then
            graphql+=("$(page_run --page graphql)"); grpc+=("$(page_run --page grpc)"); rest+=("$(page_run --page rest)")
            stock_grpc+=("$(page_run --stock grpc)"); stock_rest+=("$(page_run --stock rest)")
        else
            rest+=("$(page_run --page rest)"); grpc+=("$(page_run --page grpc)"); graphql+=("$(page_run --page graphql)")
            stock_rest+=("$(page_run --stock rest)"); stock_grpc+=("$(page_run --stock grpc)")
        fi
    done
    order_pipeline_stop

    page_median() { # FIELD REPORT...: the median of a field over the reports
        python3 -c 'import json,statistics,sys; f=sys.argv[1]; v=[json.loads(x) for x in sys.argv[2:]]
print(statistics.median((r["latencyMs"] or {}).get("p99", 0) if f == "p99" else r[f] for r in v))' "$@"
    }
    page_errors() { python3 -c 'import json,sys; print(sum(sum(json.loads(x)["errors"].values()) for x in sys.argv[1:]))' "$@"; }
    # page_pair NAME UNIT OURS-REPORTS... -- REST-REPORTS...: the rate line and the p99 line.
    page_pair() {
        local name="$1" unit="$2" ours=() theirs=() extra
        shift 2
        while [[ $1 != -- ]]; do ours+=("$1"); shift; done
        shift
        theirs=("$@")
        extra="$(python3 -c 'import json,sys; print(json.dumps({"errors": int(sys.argv[1]), "reference_errors": int(sys.argv[2]), "rounds": int(sys.argv[3])}))' \
            "$(page_errors "${ours[@]}")" "$(page_errors "${theirs[@]}")" "$ROUNDS")"
        record "$name, $clients clients" "$(page_median pagesPerSecond "${ours[@]}")" "$(page_median pagesPerSecond "${theirs[@]}")" "$unit" "$extra"
        record "$name: p99 latency (below 1 is faster)" "$(page_median p99 "${ours[@]}")" "$(page_median p99 "${theirs[@]}")" "ms" "$extra"
    }
    page_pair "product page over GraphQL, one POST /graphql (vs REST: GET /products/{sku} + GET /cart)" "pages/s" "${graphql[@]}" -- "${rest[@]}"
    page_pair "product page over gRPC, one GetProductPage (vs REST: GET /products/{sku} + GET /cart)" "pages/s" "${grpc[@]}" -- "${rest[@]}"
    page_pair "stock of 10 SKUs over gRPC, one GetStock (vs REST: 10 x GET /products/{sku})" "lookups/s" "${stock_grpc[@]}" -- "${stock_rest[@]}"
}
