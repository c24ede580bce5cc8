#!/usr/bin/env bash
# The Emporium fleet on the local services (deploy/local/services.sh must be up):
#
#   fleet.sh up        start every role not running yet, in the background (logs in $STATE/logs)
#   fleet.sh down      stop what `up` started (SIGTERM: each process finishes its work first)
#   fleet.sh status    what runs, and where its metrics are
#   fleet.sh wait      stay in the foreground until Ctrl-C (or SIGTERM), then `down`
#
# Orders placed on this fleet run on short delays (reminders after 15, 30 and 45 s, expiry after
# 60 s) so the whole lifecycle can be watched; set ORDER_REMINDER_DELAYS and ORDER_EXPIRY_DELAY
# to change them.
#
# Roles: the API (http://127.0.0.1:8080, its /metrics there too), the outbox relay (metrics on
# 9400), the auth worker (9401), the product worker (9402), the order worker (9403) and the mail
# worker (9404).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${EMPORIUM_STATE_DIR:-$ROOT/.local}"
EMPORIUM_BIN="${EMPORIUM_BIN:-$ROOT/.build/debug/emporium}"
RUN="$STATE/fleet"
LOGS="$STATE/logs"

# role name, port (the API's own, else the metrics endpoint's), subcommand
ROLES=(
    "relay 9400 relay"
    "worker-auth 9401 worker auth"
    "worker-product 9402 worker product"
    "worker-order 9403 worker order"
    "worker-mail 9404 worker mail"
    "api 8080 api"
)

log() { printf '[fleet] %s\n' "$*" >&2; }
pid_of() { [[ -f "$RUN/$1.pid" ]] && head -n1 "$RUN/$1.pid" | tr -d '[:space:]' || true; }
alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

up() {
    [[ -x "$EMPORIUM_BIN" ]] || { log "building emporium"; (cd "$ROOT" && swift build --product emporium >&2); }
    mkdir -p "$RUN" "$LOGS"
    eval "$(bash "$ROOT/deploy/local/services.sh" env)"
    for entry in "${ROLES[@]}"; do
        read -r name port command <<<"$entry"
        if alive "$(pid_of "$name")"; then continue; fi
        # shellcheck disable=SC2086 # the subcommand is words
        METRICS_PORT="$port" API_PORT="$port" EMPORIUM_MIGRATIONS_DIR="$ROOT/migrations" \
            ORDER_REMINDER_DELAYS="${ORDER_REMINDER_DELAYS:-15s,30s,45s}" ORDER_EXPIRY_DELAY="${ORDER_EXPIRY_DELAY:-60s}" \
            nohup "$EMPORIUM_BIN" $command >>"$LOGS/$name.log" 2>&1 &
        echo $! >"$RUN/$name.pid"
        # Up once its metrics endpoint answers (it exits at once on a bad setting: say so).
        for _ in $(seq 100); do
            if ! alive "$(pid_of "$name")"; then
                log "$name exited at start; last lines of $LOGS/$name.log:"
                tail -n 5 "$LOGS/$name.log" >&2
                exit 1
            fi
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
            sleep 0.1
        done
        log "$name up (pid $(pid_of "$name"), http://127.0.0.1:$port/metrics, log $LOGS/$name.log)"
    done
}

down() {
    # In reverse: the API stops taking orders first, the relay publishes what is left last.
    local index
    for ((index = ${#ROLES[@]} - 1; index >= 0; index--)); do
        read -r name _ <<<"${ROLES[$index]}"
        local pid
        pid="$(pid_of "$name")"
        if alive "$pid"; then
            kill -TERM "$pid"
            for _ in $(seq 150); do alive "$pid" || break; sleep 0.1; done
            alive "$pid" && kill -KILL "$pid"
            log "$name stopped"
        fi
        rm -f "$RUN/$name.pid"
    done
}

status() {
    for entry in "${ROLES[@]}"; do
        read -r name port _ <<<"$entry"
        if alive "$(pid_of "$name")"; then
            printf '%-22s %-8s %s\n' "$name" up "http://127.0.0.1:$port/metrics"
        else
            printf '%-22s %-8s %s\n' "$name" down "-"
        fi
    done
}

# Until Ctrl-C: then every role drains and stops (the services stay up for the next run).
wait_in_foreground() {
    trap 'echo; log "stopping the fleet"; down; exit 0' INT TERM
    while true; do
        local any=""
        for entry in "${ROLES[@]}"; do
            read -r name _ <<<"$entry"
            alive "$(pid_of "$name")" && any=yes
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
