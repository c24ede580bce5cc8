public import DomainRuntime
public import Logging
public import Postgres
public import Redis
import Messaging
public import OrderingCore

/// The order lifecycle's delays and limits, and the cart's lifetime. Keys: ``OrderKeys``.
public struct OrderSettings: Sendable {
    public var timings: OrderTimings
    public var cartLifetime: Duration
    public var limits: OrderLimits
    public var idempotencyRetention: Duration

    public init(settings reader: SettingsReader) throws {
        let keys = OrderKeys()
        timings = try Self.timings(settings: reader)
        limits = OrderLimits(openOrders: try reader.value(keys.maximumOpenOrders), openUnits: try reader.value(keys.maximumOpenUnits))
        cartLifetime = try reader.value(keys.cartLifetime)
        idempotencyRetention = try reader.value(keys.idempotencyRetention)
        // A successful request's lock runs out by itself (OrderService.create); held past the
        // key's record, a repeat would be told "in progress" until it did.
        guard timings.idempotencyLock < idempotencyRetention else {
            throw ConfigurationError(
                key: keys.idempotencyLock.name,
                message: "must be shorter than \(keys.idempotencyRetention.name) (\(AMQPDelays.compact(idempotencyRetention)))")
        }
    }

    /// The timings alone (the messaging settings derive the delay levels from them).
    public static func timings(settings reader: SettingsReader) throws -> OrderTimings {
        let keys = OrderKeys()
        let timings = OrderTimings(
            reminders: try reader.value(keys.reminders), expiry: try reader.value(keys.expiry),
            idempotencyLock: try reader.value(keys.idempotencyLock))
        if let last = timings.reminders.max(), last >= timings.expiry {
            throw ConfigurationError(key: keys.expiry.name, message: "must be longer than the last reminder (\(AMQPDelays.compact(last)))")
        }
        return timings
    }
}

public struct OrderKeys: SettingGroup {
    public var title: String { "Orders and carts" }

    public init() {}

    public let reminders = Setting.durations(
        "ORDER_REMINDER_DELAYS", default: OrderTimings().reminders,
        meaning: "payment reminders after an order is placed (`make run`: `15s,30s,45s`)")
    public let expiry = Setting.duration(
        "ORDER_EXPIRY_DELAY", default: OrderTimings().expiry, atLeast: .milliseconds(1),
        meaning: "then a PENDING order is cancelled (`expired`), a PAID one completed; must be after the last reminder (`make run`: `60s`)")
    public let maximumOpenOrders = Setting.integer(
        "ORDER_MAX_OPEN_ORDERS", default: OrderLimits().openOrders, in: 1...1_000_000,
        meaning: "unpaid (PENDING) orders one customer may hold at once; one more is refused with 429 until they pay, cancel or let one expire")
    public let maximumOpenUnits = Setting.integer(
        "ORDER_MAX_OPEN_UNITS", default: OrderLimits().openUnits, in: 1...1_000_000_000,
        meaning: "units across one customer's unpaid orders; an order that would pass it is refused with 429")
    public let idempotencyLock = Setting.duration(
        "ORDER_IDEMPOTENCY_LOCK_TTL", default: OrderTimings().idempotencyLock, atLeast: .milliseconds(100),
        meaning: "the Redis lock on (customer, Idempotency-Key); after a success it is left to run out (a repeat meanwhile "
            + "replays the order), so it must be shorter than `ORDER_IDEMPOTENCY_RETENTION`")
    public let idempotencyRetention = Setting.duration(
        "ORDER_IDEMPOTENCY_RETENTION", default: .seconds(86_400), atLeast: .seconds(60),
        meaning: "how long an Idempotency-Key replays its order's answer; the key of an order still awaiting its stock decision is kept longer")
    public let cartLifetime = Setting.duration(
        "CART_TTL", default: .seconds(30 * 86_400), atLeast: .seconds(1),
        meaning: "open carts untouched this long are removed (by the order worker, every minute)")
}

extension OrderService {
    /// The service as its settings configure it (the API's routes, GraphQL and gRPC build it so).
    public init(settings: OrderSettings, database: PostgresRouter, redis: RedisPool?, logger: Logger) {
        self.init(database: database, redis: redis, timings: settings.timings, limits: settings.limits, logger: logger)
    }
}
