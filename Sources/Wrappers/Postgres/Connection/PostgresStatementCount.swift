import Synchronization

/// Counts the statements a piece of work sends, and the round trips they take, whichever
/// connection and pool they go through: bind a counter with
/// `PostgresStatementCount.$current.withValue(counter) { ... }` and every statement run by that
/// task and its child tasks adds to it (a pipeline adds one per statement, and one round trip).
/// How a test proves that a request runs a fixed number of statements whatever the page size (no
/// N+1), or that a transaction's statements share their round trips; nothing is counted where no
/// counter is bound.
public final class PostgresStatementCount: Sendable {
    @TaskLocal public static var current: PostgresStatementCount?

    private let count = Atomic<Int>(0)
    private let trips = Atomic<Int>(0)

    public init() {}

    /// The statements counted so far.
    public var value: Int { count.load(ordering: .relaxed) }

    /// The round trips that carried statements (a statement alone, or a pipeline with any BEGIN
    /// and held statements riding along). Preparing a statement on its first use on a connection
    /// is not counted: it happens once per connection, not per call.
    public var roundTrips: Int { trips.load(ordering: .relaxed) }

    static func add(_ statements: Int) {
        current?.count.add(statements, ordering: .relaxed)
    }

    static func addRoundTrip() {
        current?.trips.add(1, ordering: .relaxed)
    }
}
