#!/usr/bin/env bash
# The Emporium fleet on the local services (deploy/local/services.sh must be up):
#
#   fleet.sh up        start every role instance not running yet, in the background (logs in
#                      $STATE/logs); stops instances beyond the requested replica counts
#   fleet.sh down      stop what `up` started (SIGTERM: each process finishes its work first)
#   fleet.sh status    every instance, its pid, and where its metrics are
#   fleet.sh wait      stay in the foreground until Ctrl-C (or SIGTERM), then `down`
#
# Replicas: REPLICAS="worker-product=3 relay=2" (roles: api grpc relay worker-auth worker-product
# worker-order worker-mail; 0-16 each, default 1). The first instance of a role is named after
# it, the others <role>-2, <role>-3, ...; each has its own port: the API's n-th instance listens
# on 8080+n-1, the others serve /metrics and /health/* on their base port + 10*(n-1) (the relay
# 9400, 9410, ...; worker-product 9402, 9412, ...).
#
# Orders placed on this fleet run on short delays (reminders after 15, 30 and 45 s, expiry after
# 60 s) so the whole lifecycle can be watched; set ORDER_REMINDER_DELAYS and ORDER_EXPIRY_DELAY
# to change them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${EMPORIUM_STATE_DIR:-$ROOT/.local}"
EMPORIUM_BIN="${EMPORIUM_BIN:-$ROOT/.build/debug/emporium}"
RUN="$STATE/fleet"
LOGS="$STATE/logs"


log() { printf '[fleet] %s\n' "$*" >&2; }
die() { printf '[fleet] error: %s\n' "$*" >&2; exit 2; }
pid_of() { [[ -f "$RUN/$1.pid" ]] && head -n1 "$RUN/$1.pid" | tr -d '[:space:]' || true; }
alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# role name, port (the API's own, else the metrics endpoint's), subcommand. The worker roles are
# the domains' (`emporium worker --list`: name and metrics port), started after the relay and
# before the API.
ROLES=("relay 9400 relay")
if [[ -x $EMPORIUM_BIN ]]; then
    while IFS=$'\t' read -r worker port; do
        [[ -n $worker ]] && ROLES+=("worker-$worker $port worker $worker")
    done < <("$EMPORIUM_BIN" worker --list)
elif [[ ${1:-} == up ]]; then
    die "$EMPORIUM_BIN is not built (make build): the worker roles come from it"
else
    # No binary (a clean checkout): the running workers are known by their pid files.
    for file in "$RUN"/worker-*.pid; do
        [[ -f $file ]] || continue
        worker="$(basename "$file" .pid)"
        worker="${worker#worker-}"
        worker="${worker%-[0-9]*}"
        [[ " ${ROLES[*]} " == *" worker-$worker "* ]] || ROLES+=("worker-$worker 0 worker $worker")
    done
fi
# The gRPC API: /metrics on 9405 (+10 per replica), gRPC on 50051 (+1 per replica).
ROLES+=("grpc 9405 grpc")
ROLES+=("api 8080 api")

# The replica count asked for `role` in $REPLICAS (1 when not named).
replicas_of() {
    local role="$1" entry count=1
    for entry in ${REPLICAS:-}; do
        [[ "${entry%%=*}" == "$role" ]] && count="${entry#*=}"
    done
    echo "$count"
}

check_replicas() {
    local entry role known
    for entry in ${REPLICAS:-}; do
        role="${entry%%=*}"
        known=""
        for definition in "${ROLES[@]}"; do [[ "${definition%% *}" == "$role" ]] && known=yes; done
        [[ -n $known ]] || die "REPLICAS: unknown role \"$role\" (roles: $(for d in "${ROLES[@]}"; do printf '%s ' "${d%% *}"; done))"
        [[ "$entry" == *=* && "${entry#*=}" =~ ^([0-9]|1[0-6])$ ]] || die "REPLICAS: expected $role=<0-16>, got \"$entry\""
    done
}

# instance_name ROLE N and instance_port ROLE BASE N: the n-th instance's name and port.
instance_name() { if (($2 == 1)); then echo "$1"; else echo "$1-$2"; fi; }
# instance_index ROLE NAME: n of an instance name (the role's own name is its first).
instance_index() { if [[ $2 == "$1" ]]; then echo 1; else echo "${2##*-}"; fi; }
instance_port() { if [[ $1 == api ]]; then echo $(($2 + $3 - 1)); else echo $(($2 + 10 * ($3 - 1))); fi; }

start_instance() {
    local name="$1" port="$2" command="$3" grpc=()
    # The n-th gRPC instance serves gRPC on 50051 + n - 1.
    [[ $command == grpc ]] && grpc=(GRPC_PORT="$((50051 + (port - 9405) / 10))")
    # shellcheck disable=SC2086 # the subcommand is words
    env "${grpc[@]}" METRICS_PORT="$port" API_PORT="$port" EMPORIUM_MIGRATIONS_DIR="$ROOT/migrations" \
        ORDER_REMINDER_DELAYS="${ORDER_REMINDER_DELAYS:-15s,30s,45s}" ORDER_EXPIRY_DELAY="${ORDER_EXPIRY_DELAY:-60s}" \
        nohup "$EMPORIUM_BIN" $command >>"$LOGS/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
    # Up once its port answers (it exits at once on a bad setting: say so).
    for _ in $(seq 300); do
        if ! alive "$(pid_of "$name")"; then
            log "$name exited at start; last lines of $LOGS/$name.log:"
            tail -n 5 "$LOGS/$name.log" >&2
            exit 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            log "$name up (pid $(pid_of "$name"), http://127.0.0.1:$port/metrics, log $LOGS/$name.log)"
            return 0
        fi
        sleep 0.1
    done
    log "$name runs (pid $(pid_of "$name")) but does not answer on port $port yet; see $LOGS/$name.log"
}

stop_instance() {
    local name="$1" pid
    pid="$(pid_of "$name")"
    if alive "$pid"; then
        kill -TERM "$pid"
        for _ in $(seq 150); do alive "$pid" || break; sleep 0.1; done
        alive "$pid" && kill -KILL "$pid"
        log "$name stopped"
    fi
    rm -f "$RUN/$name.pid"
}

# The instances that have a pid file, of `role` (its first instance and <role>-N).
instances_of() {
    local role="$1" file name
    for file in "$RUN/$role.pid" "$RUN/$role"-[0-9]*.pid; do
        [[ -f "$file" ]] || continue
        name="$(basename "$file" .pid)"
        [[ "$name" == "$role" || "$name" =~ ^$role-[0-9]+$ ]] && echo "$name"
    done
}

up() {
    check_replicas
    [[ -x "$EMPORIUM_BIN" ]] || { log "building emporium"; (cd "$ROOT" && swift build --product emporium >&2); }
    mkdir -p "$RUN" "$LOGS"
    eval "$(bash "$ROOT/deploy/local/services.sh" env)"
    for entry in "${ROLES[@]}"; do
        read -r role port command <<<"$entry"
        local count n name
        count="$(replicas_of "$role")"
        for ((n = 1; n <= count; n++)); do
            name="$(instance_name "$role" "$n")"
            alive "$(pid_of "$name")" || start_instance "$name" "$(instance_port "$role" "$port" "$n")" "$command"
        done
        # Scale down: instances beyond the count asked for.
        for name in $(instances_of "$role"); do
            n="$(instance_index "$role" "$name")"
            ((n > count)) && stop_instance "$name"
        done
    done
    return 0
}

down() {
    # In reverse: the API stops taking orders first, the relay publishes what is left last.
    local index name
    for ((index = ${#ROLES[@]} - 1; index >= 0; index--)); do
        read -r role _ <<<"${ROLES[$index]}"
        for name in $(instances_of "$role"); do stop_instance "$name"; done
    done
}

status() {
    local role port name n
    for entry in "${ROLES[@]}"; do
        read -r role port _ <<<"$entry"
        local names
        names="$(instances_of "$role")"
        if [[ -z $names ]]; then
            printf '%-22s %-8s %s\n' "$role" down "-"
            continue
        fi
        for name in $names; do
            n="$(instance_index "$role" "$name")"
            if alive "$(pid_of "$name")"; then
                printf '%-22s %-8s pid %-8s %s\n' "$name" up "$(pid_of "$name")" "http://127.0.0.1:$(instance_port "$role" "$port" "$n")/metrics"
            else
                printf '%-22s %-8s %s\n' "$name" exited "see $LOGS/$name.log"
            fi
        done
    done
}

# Until Ctrl-C: then every role drains and stops (the services stay up for the next run).
wait_in_foreground() {
    trap 'echo; log "stopping the fleet"; down; exit 0' INT TERM
    while true; do
        local any="" file
        for file in "$RUN"/*.pid; do
            [[ -f "$file" ]] && alive "$(pid_of "$(basename "$file" .pid)")" && any=yes
        done
        [[ -n $any ]] || { log "every role has exited; see $LOGS"; exit 1; }
        sleep 1
    done
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
wait) wait_in_foreground ;;
*)
    echo "usage: $0 up|down|status|wait" >&2
    exit 2
    ;;
esac
