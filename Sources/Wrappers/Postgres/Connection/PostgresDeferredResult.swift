import Synchronization

/// What a statement held by ``PostgresConnection/executeDeferred(_:)`` came to, known once the
/// round trip it went out with was answered: until then ``outcome`` is nil (also when it never went
/// out: a rollback, or a connection lost before the answer).
public final class PostgresDeferredResult: Sendable {
    public enum Outcome: Sendable {
        case done(PostgresRows)
        case failed(PostgresError)
        /// An earlier statement of the same round trip failed, so the server did not run it.
        case skipped
    }

    private let state = Mutex<Outcome?>(nil)

    init() {}

    public var outcome: Outcome? { state.withLock { $0 } }

    /// The server's error, if the statement failed.
    public var error: PostgresError? {
        if case .failed(let error) = outcome { return error }
        return nil
    }

    func settle(_ outcome: Outcome) {
        state.withLock { $0 = outcome }
    }
}
