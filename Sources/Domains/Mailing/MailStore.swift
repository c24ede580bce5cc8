import Contracts
import Foundation
import MailingCore
import Postgres

/// The SQL of the mailing schema.
enum MailStore {
    static func recordQueued(_ id: UUID, _ command: MailSend, on database: PostgresPool) async throws {
        try await database.execute("""
            INSERT INTO mailing.mails (id, template, customer_id, order_id)
            VALUES (\(id), \(command.template.rawValue), \(command.customerID), \(command.orderID))
            ON CONFLICT (id) DO NOTHING
            """)
    }

    static func state(of id: UUID, on connection: PostgresConnection) async throws -> MailState? {
        try await connection.query("SELECT state FROM mailing.mails WHERE id = \(id)").first.map { row in
            let text: String = try row.decode("state")
            guard let state = MailState(rawValue: text) else { throw UnknownState(value: text) }
            return state
        }
    }

    struct UnknownState: Error, CustomStringConvertible {
        var value: String
        var description: String { "mailing.mails.state holds \"\(value)\", which this version does not know" }
    }

    static func recordSent(_ id: UUID, to address: String, on database: PostgresPool) async throws {
        try await database.execute("""
            UPDATE mailing.mails SET state = \(MailState.sent.rawValue), recipient = \(address), attempts = attempts + 1, last_attempt_at = now(),
                sent_at = now(), failed_at = NULL
            WHERE id = \(id)
            """)
    }

    /// One failed attempt; `final` marks the mail failed (it is dead-lettered next).
    static func recordFailure(_ id: UUID, error: String, final: Bool, on database: PostgresPool) async throws {
        try await database.execute("""
            UPDATE mailing.mails SET attempts = attempts + 1, last_error = \(String(error.prefix(2000))), last_attempt_at = now(),
                state = \(final ? MailState.failed.rawValue : MailState.queued.rawValue),
                failed_at = CASE WHEN \(final) THEN now() END
            WHERE id = \(id) AND state <> \(MailState.sent.rawValue)
            """)
    }

    static func recipient(_ customerID: String, on connection: PostgresConnection) async throws -> String? {
        try await connection.query("SELECT email FROM mailing.recipients WHERE customer_id = \(customerID)").first.map { try $0.decode("email") }
    }

    static func rememberRecipient(_ accountID: UUID, email: String, on connection: PostgresConnection) async throws {
        try await connection.execute("""
            INSERT INTO mailing.recipients (customer_id, email) VALUES (\(accountID.uuidString.lowercased()), \(email))
            ON CONFLICT (customer_id) DO UPDATE SET email = excluded.email, updated_at = now()
            """)
    }
}
