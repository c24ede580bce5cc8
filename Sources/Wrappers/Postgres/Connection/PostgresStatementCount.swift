import Synchronization

/// Counts the statements a piece of work sends, whichever connection and pool they go through:
/// bind a counter with `PostgresStatementCount.$current.withValue(counter) { ... }` and every
/// statement run by that task and its child tasks adds to it (a pipeline adds one per statement).
/// How a test proves that a request runs a fixed number of statements whatever the page size (no
/// N+1); nothing is counted where no counter is bound.
public final class PostgresStatementCount: Sendable {
    @TaskLocal public static var current: PostgresStatementCount?

    private let count = Atomic<Int>(0)

    public init() {}

    /// The statements counted so far.
    public var value: Int { count.load(ordering: .relaxed) }

    static func add(_ statements: Int) {
        current?.count.add(statements, ordering: .relaxed)
    }
}
