import Contracts
import MailingCore
import Foundation
import DomainKit
import Logging
public import Messaging
public import Postgres
public import SMTP

/// The mail worker: `mail.send` commands rendered and sent over SMTP, one row per command in
/// `mailing.mails` (queued, sent, failed; attempts, last error, times), and the copy of where
/// each customer's mail goes, kept from `user.*` events.
///
/// Sending is at least once towards the SMTP server and exactly once as far as this worker can
/// tell: a command whose row says `sent` is not sent again (a redelivery, a replay under a new
/// id is another mail). The state of a failed attempt is written outside the inbox transaction,
/// which the failure rolls back; the runtime then retries through the delay queues with the
/// mail policy's backoff, and dead-letters after the last attempt or a permanent refusal.
public struct MailDelivery: Sendable {
    let sender: SMTPClient
    let database: PostgresPool
    let retry: RetryPolicy
    let renderer: MailRenderer

    public init(sender: SMTPClient, database: PostgresPool, retry: RetryPolicy) throws {
        self.sender = sender
        self.database = database
        self.retry = retry
        renderer = try MailRenderer()
    }

    /// The handlers of the AMQP consumer (`mail.send`) and of the Kafka consumer (`user.*`).
    public var commandHandlers: MessageHandlers {
        var handlers = MessageHandlers()
        handlers.on(MailSend.self) { command, context in try await send(command, context: context) }
        return handlers
    }

    /// The Kafka side: addresses from `user.*`, and the notification feed from `order.*`.
    public static var eventHandlers: MessageHandlers {
        var handlers = recipientHandlers
        handlers.merge(NotificationFeed.orderHandlers)
        return handlers
    }

    public static var recipientHandlers: MessageHandlers {
        var handlers = MessageHandlers()
        handlers.on(UserRegistered.self) { event, context in
            try await MailStore.rememberRecipient(event.accountID, email: event.email, on: context.connection)
        }
        handlers.on(UserVerified.self) { event, context in
            try await MailStore.rememberRecipient(event.accountID, email: event.email, on: context.connection)
        }
        handlers.on(UserDeleted.self) { event, context in
            // The address goes from the copy and from the record of mails sent to it.
            let customer = event.accountID.uuidString.lowercased()
            try await context.connection.execute("DELETE FROM mailing.recipients WHERE customer_id = \(customer)")
            try await context.connection.execute("UPDATE mailing.mails SET recipient = NULL WHERE customer_id = \(customer) AND recipient IS NOT NULL")
        }
        return handlers
    }

    func send(_ command: MailSend, context: MessageContext) async throws {
        let id = context.envelope.id
        // Recorded on its own, so the row (and each failed attempt) outlives a rolled-back try.
        try await MailStore.recordQueued(id, command, on: database)
        guard MailRules.shouldSend(try await MailStore.state(of: id, on: context.connection)) else {
            context.logger.info("mail already sent; not sending it again", metadata: ["mail.id": "\(id)"])
            return
        }
        guard let rendered = renderer.render(command.template.rawValue, values: values(of: command)) else {
            try await recordFailure(id, "no template \(command.template.rawValue)", final: true)
            throw MessagingError(.poisonMessage, "no mail template \(command.template.rawValue)")
        }
        try await NotificationFeed.recordMail(id, command: command, subject: rendered.subject, occurredAt: context.envelope.occurredAt, on: database)
        let address: String
        do {
            let known = command.to == nil ? try await MailStore.recipient(command.customerID, on: context.connection) : nil
            address = try MailRules.recipient(explicit: command.to, known: known, customerID: command.customerID)
        } catch let error as DomainError {
            // Failed and dead-lettered at once (replay it once the address is known), rather than
            // retried for half an hour.
            try await recordFailure(id, error.message, final: true)
            throw MessagingError(.permanent, error.message)
        }
        let message = SMTPMessage(
            to: address, subject: rendered.subject, text: rendered.text, html: rendered.html,
            messageID: "\(id.uuidString.lowercased())@emporium",
            headers: [("X-Emporium-Mail-Id", id.uuidString.lowercased()), ("X-Emporium-Template", command.template.rawValue)])
        do {
            try await sender.send(message)
        } catch {
            let state = MailRules.afterFailure(retriable: error.isRetriable, attemptsLeft: retry.allowsRetry(after: context.attempt))
            try await recordFailure(id, error.description, final: state == .failed)
            // The runtime decides on MessagingError: a permanent refusal is dead-lettered at once.
            throw MessagingError(error.isRetriable ? .transient : .permanent, error.description)
        }
        // Recorded at once on its own: if the inbox transaction then fails to commit, the
        // redelivery finds the mail sent instead of sending it again. A database outage here
        // (a primary restart) is waited out for the same reason: failing now would send it twice.
        try await PostgresOutage.waitOut(patience: .seconds(60)) { try await MailStore.recordSent(id, to: address, on: database) }
    }

    private func recordFailure(_ id: UUID, _ error: String, final: Bool) async throws {
        try await MailStore.recordFailure(id, error: error, final: final, on: database)
    }

    /// The command's data plus what every template may use.
    private func values(of command: MailSend) -> [String: String] {
        MailRules.templateValues(data: command.data, customerID: command.customerID, to: command.to, orderID: command.orderID)
    }
}
