import Ordering

/// The order lifecycle's delays.
///
/// Keys: `ORDER_REMINDER_DELAYS` (`4h,12h,22h`: payment reminders after creation),
/// `ORDER_EXPIRY_DELAY` (`24h`: PENDING orders are cancelled, PAID ones completed; after the last
/// reminder), `ORDER_IDEMPOTENCY_LOCK_TTL` (`10s`: the Redis lock on a request's Idempotency-Key),
/// `CART_TTL` (`30d`: open carts untouched this long are removed by the order worker),
/// `ORDER_IDEMPOTENCY_RETENTION` (`24h`: how long a request's Idempotency-Key replays its answer),
/// `ORDER_MAX_OPEN_ORDERS` (`10`) and `ORDER_MAX_OPEN_UNITS` (`1000`): what one customer may hold
/// in unpaid orders.
struct OrderSettings: Sendable {
    var timings: OrderTimings
    var cartLifetime: Duration
    var limits: OrderLimits
    var idempotencyRetention: Duration

    init(environment: Environment) throws {
        timings = try Self.timings(environment: environment)
        let defaultLimits = OrderLimits()
        limits = OrderLimits(
            openOrders: try environment.integer("ORDER_MAX_OPEN_ORDERS", default: defaultLimits.openOrders, range: 1...1_000_000),
            openUnits: try environment.integer("ORDER_MAX_OPEN_UNITS", default: defaultLimits.openUnits, range: 1...1_000_000_000))
        cartLifetime = try environment.duration("CART_TTL", default: .seconds(30 * 86_400))
        if cartLifetime < .seconds(1) { throw ConfigurationError(key: "CART_TTL", message: "must be at least 1s") }
        idempotencyRetention = try environment.duration("ORDER_IDEMPOTENCY_RETENTION", default: .seconds(24 * 3600))
        if idempotencyRetention < .seconds(60) {
            throw ConfigurationError(key: "ORDER_IDEMPOTENCY_RETENTION", message: "must be at least 1m")
        }
    }

    /// The timings alone (the messaging settings derive the delay levels from them).
    static func timings(environment: Environment) throws -> OrderTimings {
        let defaults = OrderTimings()
        let timings = OrderTimings(
            reminders: try environment.durations("ORDER_REMINDER_DELAYS", default: defaults.reminders),
            expiry: try environment.duration("ORDER_EXPIRY_DELAY", default: defaults.expiry),
            idempotencyLock: try environment.duration("ORDER_IDEMPOTENCY_LOCK_TTL", default: defaults.idempotencyLock))
        if let last = timings.reminders.max(), last >= timings.expiry {
            throw ConfigurationError(key: "ORDER_EXPIRY_DELAY", message: "must be longer than the last reminder (\(last.components.seconds)s)")
        }
        if timings.expiry <= .zero {
            throw ConfigurationError(key: "ORDER_EXPIRY_DELAY", message: "must be positive")
        }
        if timings.reminders.contains(where: { $0 <= .zero }) {
            throw ConfigurationError(key: "ORDER_REMINDER_DELAYS", message: "every delay must be positive")
        }
        if timings.idempotencyLock < .milliseconds(100) {
            throw ConfigurationError(key: "ORDER_IDEMPOTENCY_LOCK_TTL", message: "must be at least 100ms")
        }
        return timings
    }
}
