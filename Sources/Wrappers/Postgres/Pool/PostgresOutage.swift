/// Waiting out a database that is briefly unreachable (a primary restarting, a failover), for
/// writes that must land because something outside the database already happened: a mail the SMTP
/// server accepted is recorded as sent, or its redelivery sends it again.
public enum PostgresOutage {
    /// Runs `body`, again after a growing pause (100 ms doubling to 2 s) while it fails with a lost
    /// or refused connection, an exhausted pool or a server starting or shutting down, for at most
    /// `patience`; any other error, or the last one, is thrown.
    public static func waitOut<R: Sendable>(patience: Duration, _ body: () async throws -> R) async throws -> R {
        let deadline = ContinuousClock.now + patience
        var pause = Duration.milliseconds(100)
        while true {
            do {
                return try await body()
            } catch let error as PostgresError where isOutage(error) && ContinuousClock.now + pause < deadline {
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(2))
            }
        }
    }

    /// Not the statement's fault: the server could not be reached, was going away, or could not
    /// take writes (25006, read-only: a failover under way). Messages meeting one are retried
    /// without using up an attempt, and the API answers 503.
    public static func isOutage(_ error: PostgresError) -> Bool {
        error.isConnectionLoss || error.code == .poolTimeout || ["57P01", "57P02", "57P03", "53300", "25006"].contains(error.sqlState ?? "")
    }
}
