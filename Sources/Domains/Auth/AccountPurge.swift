import DomainKit
import Contracts
import Foundation
public import Logging
public import Messaging
public import Postgres

/// Deletes accounts never verified within `policy.unverifiedLifetime`, each with `user.deleted`
/// (so copies of the address go too), every `interval`. Safe on any number of replicas: rows
/// are claimed with `SKIP LOCKED`.
public struct AccountPurge: PeriodicPurge {
    let database: PostgresPool
    let policy: AuthPolicy
    public let interval: Duration
    public let logger: Logger
    public var purged: String { "unverified accounts" }

    public init(database: PostgresPool, policy: AuthPolicy, interval: Duration, logger: Logger) {
        self.database = database
        self.policy = policy
        self.interval = interval
        self.logger = logger
    }

    /// Purges one batch; how many accounts went.
    @discardableResult
    public func purgeOnce() async throws -> Int {
        let limit = 500
        return try await database.withTransaction { connection in
            let rows = try await connection.query("""
                DELETE FROM auth.accounts WHERE id IN (
                    SELECT id FROM auth.accounts
                    WHERE verified_at IS NULL AND created_at < now() - \(policy.unverifiedLifetime.timeInterval) * interval '1 second'
                    ORDER BY created_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING id
                """)
            for row in rows {
                let id: UUID = try row.decode("id")
                let key = id.uuidString.lowercased()
                let envelope = try MessageEnvelope(UserDeleted(accountID: id), key: key, correlationID: nil, causationID: nil)
                try await Outbox.append(OutboxMessage(envelope, to: Destinations.users), on: connection)
            }
            return rows.count
        }
    }
}
