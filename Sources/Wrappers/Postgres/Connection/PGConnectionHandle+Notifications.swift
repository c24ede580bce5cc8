import CLibPQ

extension PGConnectionHandle {
    /// Reads what the server sent without blocking and returns the notifications received.
    func drainNotifications() throws -> [PostgresNotification] {
        guard PQconsumeInput(connection) == 1 else { throw connectionError() }
        var notifications: [PostgresNotification] = []
        while let notify = PQnotifies(connection) {
            notifications.append(PostgresNotification(
                channel: String(cString: notify.pointee.relname),
                payload: String(cString: notify.pointee.extra),
                processID: notify.pointee.be_pid))
            PQfreemem(notify)
        }
        return notifications
    }

    /// Quotes an identifier (a channel name) for use in SQL text.
    func quoteIdentifier(_ identifier: String) throws -> String {
        guard let quoted = PQescapeIdentifier(connection, identifier, identifier.utf8.count) else {
            throw connectionError()
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }
}

/// A message received through LISTEN.
public struct PostgresNotification: Sendable, Hashable {
    public let channel: String
    public let payload: String
    /// The backend that sent it.
    public let processID: Int32
}
