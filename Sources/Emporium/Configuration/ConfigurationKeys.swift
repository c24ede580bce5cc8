/// Every environment key `emporium` reads, with its default and meaning: the reference behind
/// `emporium config keys`, docs/configuration.md's table, and the deployment checks (the compose file and
/// the Kubernetes manifests may set only these). ``Environment`` refuses, in debug builds, to
/// read a key missing here, so the list cannot fall behind the code that the tests run.
enum ConfigurationKeys {
    struct Key: Sendable {
        let name: String
        let defaultValue: String
        let meaning: String
    }

    static let all: [Key] = [
        // Databases
        Key(name: "POSTGRES_PRIMARY_URL", defaultValue: "postgresql://emporium:emporium@127.0.0.1:5432/emporium", meaning: "the primary: writes and read-after-write"),
        Key(name: "POSTGRES_REPLICA_URL", defaultValue: "(none)", meaning: "a streaming replica for reads that may be a little stale; none: the primary serves them"),
        Key(name: "POSTGRES_POOL_SIZE", defaultValue: "10", meaning: "connections per pool"),
        Key(name: "POSTGRES_MAX_REPLICA_LAG_MS", defaultValue: "1000", meaning: "a replica lagging more is skipped for the primary"),
        Key(name: "EMPORIUM_MIGRATIONS_DIR", defaultValue: "migrations", meaning: "where `emporium migrate` finds the SQL migrations"),
        // Brokers and Redis
        Key(name: "KAFKA_BOOTSTRAP_SERVERS", defaultValue: "127.0.0.1:9092", meaning: "comma-separated Kafka brokers"),
        Key(name: "KAFKA_SESSION_TIMEOUT", defaultValue: "10s", meaning: "how long a vanished consumer keeps its partitions"),
        Key(name: "KAFKA_FETCH_WAIT_MAX", defaultValue: "500ms", meaning: "fetch.wait.max.ms; the development Kafka wants 10ms"),
        Key(name: "AMQP_URL", defaultValue: "amqp://guest:guest@127.0.0.1:5672", meaning: "RabbitMQ (amqps:// for TLS)"),
        Key(name: "REDIS_URL", defaultValue: "redis://127.0.0.1:6379", meaning: "Redis: locks, guards, limits, cooldowns (rediss:// for TLS)"),
        // Messaging runtime
        Key(name: "MESSAGING_NAMESPACE", defaultValue: "emporium", meaning: "prefixes RabbitMQ exchanges and queues, Kafka consumer groups and Redis keys"),
        Key(name: "MESSAGING_WORK_EXCHANGE", defaultValue: "<namespace>.work", meaning: "the exchange every consumer queue is bound to"),
        Key(name: "MESSAGING_DELAY_LEVELS", defaultValue: "1s,5s,30s,2m,10m,1h,2h,4h,8h,10h,12h,20h", meaning: "the delay queues (by default the retry levels and the order timers' waits)"),
        Key(name: "MESSAGING_RETRY_ATTEMPTS", defaultValue: "5", meaning: "tries in all before a message is dead-lettered"),
        Key(name: "MESSAGING_RETRY_INITIAL_DELAY", defaultValue: "500ms", meaning: "the first retry's wait (doubling, with jitter)"),
        Key(name: "MESSAGING_RETRY_MAX_DELAY", defaultValue: "60s", meaning: "the longest retry wait"),
        Key(name: "MESSAGING_GUARD_TTL", defaultValue: "30s", meaning: "the Redis guard's lease on a message in work"),
        Key(name: "OUTBOX_BATCH_SIZE", defaultValue: "500", meaning: "rows per relay claim"),
        Key(name: "OUTBOX_CONCURRENCY", defaultValue: "4", meaning: "batches in flight per relay"),
        Key(name: "OUTBOX_POLL_INTERVAL", defaultValue: "1s", meaning: "the relay's full scan"),
        Key(name: "OUTBOX_WATCH_INTERVAL", defaultValue: "25ms", meaning: "the relay's probe for ready rows; 0 turns it off"),
        Key(name: "OUTBOX_RETENTION", defaultValue: "168h", meaning: "how long sent rows are kept"),
        Key(name: "MESSAGING_INBOX_RETENTION", defaultValue: "168h", meaning: "how long a handled message's id is remembered (inbox rows)"),
        Key(name: "METRICS_HOST", defaultValue: "127.0.0.1", meaning: "where workers and the relay serve /metrics and the health checks"),
        Key(name: "METRICS_PORT", defaultValue: "per role: 9400-9404", meaning: "0 picks a free port"),
        Key(name: "LOG_FORMAT", defaultValue: "text", meaning: "json: one JSON object per line, metadata (correlation.id, ...) as fields"),
        Key(name: "LOG_LEVEL", defaultValue: "info", meaning: "trace, debug, info, notice, warning, error or critical"),
        Key(name: "OTEL_EXPORTER_OTLP_ENDPOINT", defaultValue: "(none: no span export)", meaning: "OTLP/HTTP collector for spans (e.g. http://otel-collector:4318); the other OTEL_* variables apply"),
        Key(name: "SHUTDOWN_TIMEOUT", defaultValue: "30s", meaning: "the drain after SIGTERM before services are cancelled"),
        // API
        Key(name: "API_HOST", defaultValue: "127.0.0.1", meaning: "the API's address"),
        Key(name: "API_IDLE_TIMEOUT", defaultValue: "30s", meaning: "idle connections, and request heads still arriving, are closed after this"),
        Key(name: "API_MAX_CONNECTIONS", defaultValue: "1024", meaning: "open connections at most; more wait in the backlog"),
        Key(name: "API_OBSERVABILITY_PORT", defaultValue: "(unset)", meaning: "serve /metrics and /health/* on this port, not the API's"),
        Key(name: "API_PORT", defaultValue: "8080", meaning: "0 picks a free port"),
        Key(name: "API_TRUSTED_PROXIES", defaultValue: "(none)", meaning: "CIDRs of the reverse proxies whose X-Forwarded-For is believed; the client is its right-most untrusted address"),
        Key(name: "RATE_LIMIT_AUTH", defaultValue: "20/1m", meaning: "/auth/* requests per client, or off"),
        Key(name: "RATE_LIMIT_WRITE", defaultValue: "120/1m", meaning: "other non-GET requests per client, or off"),
        Key(name: "RATE_LIMIT_READ", defaultValue: "600/1m", meaning: "GET and HEAD requests per client, or off"),
        // Accounts
        Key(name: "AUTH_JWT_SECRET", defaultValue: "(required by api)", meaning: "the HS256 key of access tokens, at least 32 bytes"),
        Key(name: "AUTH_JWT_ISSUER", defaultValue: "emporium", meaning: "iss of access tokens"),
        Key(name: "AUTH_JWT_AUDIENCE", defaultValue: "emporium-api", meaning: "aud of access tokens"),
        Key(name: "AUTH_ACCESS_TOKEN_TTL", defaultValue: "15m", meaning: "access token lifetime"),
        Key(name: "AUTH_REFRESH_TOKEN_TTL", defaultValue: "30d", meaning: "refresh token lifetime"),
        Key(name: "AUTH_SESSION_MAX_LIFETIME", defaultValue: "90d", meaning: "a session ends this long after its login, however often refreshed"),
        Key(name: "AUTH_REFRESH_REUSE_GRACE", defaultValue: "10s", meaning: "a refresh token's own client may spend it again this soon (0s: never)"),
        Key(name: "AUTH_CODE_TTL", defaultValue: "10m", meaning: "verification code lifetime"),
        Key(name: "AUTH_CODE_ATTEMPTS", defaultValue: "5", meaning: "wrong codes that void a code"),
        Key(name: "AUTH_CODE_MAX_FAILURES", defaultValue: "20", meaning: "wrong codes per address within a day, across codes, before every code is refused"),
        Key(name: "AUTH_RESEND_COOLDOWN", defaultValue: "1m", meaning: "before the first resend for one address; each resend of the day doubles it"),
        Key(name: "AUTH_RESEND_COOLDOWN_MAX", defaultValue: "1h", meaning: "the most a resend cooldown grows to"),
        Key(name: "AUTH_LOGIN_MAX_FAILURES_ACCOUNT", defaultValue: "5", meaning: "failed logins for one address from one client within the window before that client gets 429"),
        Key(name: "AUTH_LOGIN_MAX_FAILURES_CLIENT", defaultValue: "20", meaning: "failed logins per client within the window before 429"),
        Key(name: "AUTH_LOGIN_WINDOW", defaultValue: "15m", meaning: "the failed-login window"),
        Key(name: "AUTH_UNVERIFIED_TTL", defaultValue: "7d", meaning: "accounts never verified are purged after this"),
        Key(name: "AUTH_PURGE_INTERVAL", defaultValue: "1m", meaning: "how often the auth worker purges"),
        Key(name: "AUTH_PASSWORD_COST", defaultValue: "interactive", meaning: "argon2id cost: interactive (64 MiB) or minimum (tests only)"),
        Key(name: "AUTH_ADMIN_EMAIL", defaultValue: "(none)", meaning: "with AUTH_ADMIN_PASSWORD: an admin account created at start"),
        Key(name: "AUTH_ADMIN_PASSWORD", defaultValue: "(none)", meaning: "the bootstrap admin's password, at least 10 characters"),
        // Orders
        Key(name: "ORDER_REMINDER_DELAYS", defaultValue: "4h,12h,22h", meaning: "payment reminders after an order is placed"),
        Key(name: "ORDER_EXPIRY_DELAY", defaultValue: "24h", meaning: "then PENDING orders are cancelled, PAID ones completed"),
        Key(name: "ORDER_MAX_OPEN_ORDERS", defaultValue: "10", meaning: "unpaid orders one customer may hold at once"),
        Key(name: "ORDER_MAX_OPEN_UNITS", defaultValue: "1000", meaning: "units one customer may hold in unpaid orders"),
        Key(name: "ORDER_IDEMPOTENCY_LOCK_TTL", defaultValue: "10s", meaning: "the Redis lock on (customer, Idempotency-Key)"),
        Key(name: "ORDER_IDEMPOTENCY_RETENTION", defaultValue: "24h", meaning: "how long an Idempotency-Key replays its answer"),
        Key(name: "CART_TTL", defaultValue: "30d", meaning: "open carts untouched this long are removed"),
        // Mail
        Key(name: "SMTP_URL", defaultValue: "smtp://127.0.0.1:1025", meaning: "smtp:// (STARTTLS per SMTP_STARTTLS) or smtps://"),
        Key(name: "SMTP_USERNAME", defaultValue: "(none)", meaning: "SMTP authentication"),
        Key(name: "SMTP_PASSWORD", defaultValue: "(none)", meaning: "SMTP authentication"),
        Key(name: "SMTP_STARTTLS", defaultValue: "opportunistic", meaning: "opportunistic, required or never"),
        Key(name: "SMTP_TIMEOUT", defaultValue: "60s", meaning: "per mail"),
        Key(name: "MAIL_FROM", defaultValue: "no-reply@emporium.local", meaning: "sender address"),
        Key(name: "MAIL_FROM_NAME", defaultValue: "Emporium", meaning: "sender name"),
        Key(name: "MAIL_RETRY_DELAYS", defaultValue: "10s,1m,5m,30m", meaning: "waits before each retry of a failed send"),
        Key(name: "MAIL_RETENTION", defaultValue: "30d", meaning: "how long the record of a sent or failed mail is kept"),
    ]

    static let names: Set<String> = Set(all.map(\.name))
}
