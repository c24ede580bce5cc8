public import Contracts
import Foundation
public import Logging
import Messaging
public import Postgres
public import ServiceLifecycle

/// Deletes accounts never verified within `policy.unverifiedLifetime`, each with `user.deleted`
/// (so copies of the address go too), every `interval`. Safe on any number of replicas: rows
/// are claimed with `SKIP LOCKED`.
public struct AccountPurge: Service {
    let database: PostgresPool
    let policy: AuthPolicy
    let interval: Duration
    let logger: Logger

    public init(database: PostgresPool, policy: AuthPolicy, interval: Duration, logger: Logger) {
        self.database = database
        self.policy = policy
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let purged = try await purgeOnce()
                if purged > 0 { logger.info("purged unverified accounts", metadata: ["auth.purged": "\(purged)"]) }
            } catch {
                logger.warning("purging unverified accounts failed; trying again later", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Purges one batch; how many accounts went.
    @discardableResult
    public func purgeOnce(limit: Int = 500) async throws -> Int {
        try await database.withTransaction { connection in
            let rows = try await connection.query("""
                DELETE FROM auth.accounts WHERE id IN (
                    SELECT id FROM auth.accounts
                    WHERE verified_at IS NULL AND created_at < now() - \(AccessTokens.seconds(policy.unverifiedLifetime)) * interval '1 second'
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
