/// The order lifecycle's delays: configurable, so tests run a whole lifecycle in seconds.
public struct OrderTimings: Sendable, Hashable {
    /// After creation; a reminder mails only a PENDING order.
    public var reminders: [Duration]
    /// After creation: a PENDING order is cancelled (`expired`), a PAID one completed.
    public var expiry: Duration
    /// How long the Redis lock on (customer, Idempotency-Key) holds off a second request.
    public var idempotencyLock: Duration

    public init(
        reminders: [Duration] = [.seconds(4 * 3600), .seconds(12 * 3600), .seconds(22 * 3600)],
        expiry: Duration = .seconds(24 * 3600), idempotencyLock: Duration = .seconds(10)
    ) {
        self.reminders = reminders
        self.expiry = expiry
        self.idempotencyLock = idempotencyLock
    }
}

/// How much one customer may hold in unpaid (PENDING) orders at once, so that nobody can keep
/// the stock from everyone else until the orders expire.
public struct OrderLimits: Sendable, Hashable {
    /// PENDING orders.
    public var openOrders: Int
    /// Units across the lines of PENDING orders.
    public var openUnits: Int

    public init(openOrders: Int = 10, openUnits: Int = 1_000) {
        self.openOrders = openOrders
        self.openUnits = openUnits
    }
}

/// What a customer holds in PENDING orders.
public struct OpenOrders: Sendable, Hashable {
    public var count: Int
    public var units: Int

    public init(count: Int, units: Int) {
        self.count = count
        self.units = units
    }
}
