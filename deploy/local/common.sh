# Shell helpers shared by the local scripts (services.sh, interop.sh): sourced, never run.
# The script sets LOG_TAG first (e.g. services), which prefixes its messages.

log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$LOG_TAG" "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }
pid_from() { [[ -f "$1" ]] && head -n1 "$1" | tr -d '[:space:]' || true; }

# Waits up to $2 seconds for `$1` (a command) to succeed, trying every 50 ms.
wait_for() {
    local check="$1" seconds="$2" what="$3" i
    for ((i = 0; i < seconds * 20; i++)); do
        if eval "$check"; then return 0; fi
        sleep 0.05
    done
    die "$what did not become ready within ${seconds}s"
}

# Stops the process recorded in pid file $1 (if this script started it and it still runs), waits
# for it to exit, and removes the file.
stop_pidfile() {
    local file="$1" name="$2" pid
    pid="$(pid_from "$file")"
    if pid_alive "$pid"; then
        kill "$pid"
        wait_for "! kill -0 $pid 2>/dev/null" 15 "$name shutdown"
        log "$name stopped"
    fi
    rm -f "$file"
}

# Refuses to start a service on a port some other process holds.
require_free_port() {
    local port="$1" name="$2"
    if port_open "$port"; then
        die "port $port (for $name) is already in use by a process this script did not start: $(ss -ltnpH "sport = :$port" 2>/dev/null | awk '{print $NF}' | head -n1)"
    fi
}
