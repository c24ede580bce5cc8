import AMQP
import Contracts
import EmporiumTestSupport
import Foundation
import Messaging
import Postgres
import Testing

/// The mail worker against a real SMTP server (the fleet's catcher): outages retried with
/// backoff, permanent refusals failed and dead-lettered, duplicates sent once.
@Suite("Mail delivery", .serialized, .usesRabbitMQ, .timeLimit(.minutes(10)))
struct MailDeliveryTests {
    struct MailRow {
        var state: String
        var attempts: Int
        var lastError: String?
    }

    @Test("with the SMTP server down, a mail is retried with backoff and sent once it is back")
    func outage() async throws {
        let fleet = try await PipelineFleet.shared.get()
        // A mail worker and an SMTP catcher of its own: the fleet's stay up for the other suites.
        let namespace = "\(fleet.id)o"
        let catcher = SMTPCatcher(port: try freeLocalPort(), directory: fleet.logDirectory.appendingPathComponent("mail-outage"))
        fleet.spawnMailWorker(namespace: namespace, smtpPort: catcher.port, retryDelays: "1s,5s,30s")
        defer { Task { try? await fleet.stop("worker-mail-\(namespace)") } }
        let email = fleet.newAddress()
        let id = try await fleet.publishMail(
            MailSend(template: .orderConfirmation, customerID: "outage-\(UUID())", to: email, orderID: UUID()), namespace: namespace)
        var row: MailRow?
        let failedOnce = try await eventually(timeout: .seconds(30), every: .milliseconds(100)) {
            row = try await fleet.mailRow(id)
            return (row?.attempts ?? 0) >= 1
        }
        try await catcher.start()
        defer { catcher.terminate() }
        #expect(failedOnce, "no failed attempt recorded: \(String(describing: row))")
        #expect(row?.state == "queued", "a retriable failure keeps the mail queued: \(String(describing: row))")
        #expect(row?.lastError?.isEmpty == false)

        // The catcher takes a few seconds to start on a loaded machine; the later waits leave it time.
        let sent = try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
            row = try await fleet.mailRow(id)
            return row?.state == "sent"
        }
        #expect(sent, "never sent after the server came back: \(String(describing: row))")
        #expect((row?.attempts ?? 0) >= 2)
        #expect(catcher.mails(to: email).count == 1)
    }

    @Test("a code mail is sent ahead of a backlog of order mails: it has a lane of its own")
    func codeMailLane() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let namespace = "\(fleet.id)c"
        let name = "worker-mail-\(namespace)"
        fleet.spawnMailWorker(namespace: namespace, smtpPort: fleet.smtp.port, retryDelays: "1s,2s,4s")
        defer { Task { try? await fleet.stop(name) } }
        // The worker's queues declared (the first mail is published once they route), then the
        // worker held still while a backlog builds: 200 order mails, then one code mail.
        let warmUp = try await fleet.publishMail(
            MailSend(template: .orderConfirmation, customerID: "lane-\(UUID())", to: fleet.newAddress(), orderID: UUID()), namespace: namespace)
        #expect(try await eventually(timeout: .seconds(60), every: .milliseconds(100)) { try await fleet.mailRow(warmUp)?.state == "sent" })
        let backlog = 200
        let customer = "lane-\(UUID())"
        let orderMails = (0..<backlog).map { _ in
            MailSend(template: .orderConfirmation, customerID: customer, to: fleet.newAddress(), orderID: UUID())
        }
        let codeMail = MailSend(template: .verification, customerID: "lane-code-\(UUID())", to: fleet.newAddress(), data: ["code": "123456", "expiresInMinutes": "10"])
        fleet.signalAll(name, SIGSTOP)
        let ids: [UUID]
        do {
            defer { fleet.signalAll(name, SIGCONT) }
            ids = try await fleet.publishMails(orderMails + [codeMail], namespace: namespace)
        }
        let codeID = try #require(ids.last)
        var row: MailRow?
        let sent = try await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
            row = try await fleet.mailRow(codeID)
            return row?.state == "sent"
        }
        #expect(sent, "the code mail was never sent: \(String(describing: row))")
        // Ahead of the backlog: most order mails were sent after it (one queue would send all 200 first).
        let before = try await fleet.count("""
            SELECT count(*) FROM mailing.mails WHERE customer_id = \(customer) AND state = 'sent'
              AND sent_at < (SELECT sent_at FROM mailing.mails WHERE id = \(codeID))
            """)
        #expect(before < backlog / 2, "\(before) of \(backlog) order mails were sent before the code mail")
        let drained = try await eventually(timeout: .seconds(120), every: .milliseconds(250)) {
            try await fleet.count("SELECT count(*) FROM mailing.mails WHERE customer_id = \(customer) AND state = 'sent'") == backlog
        }
        #expect(drained, "the order mails were not all sent")
    }

    @Test("a recipient the server refuses (550) ends failed and dead-lettered, without retries")
    func permanentFailure() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let email = fleet.newAddress(domain: "rejected.example")
        let accountID = try await fleet.register(email)
        var row: MailRow?
        let failed = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
            row = try await fleet.verificationMail(of: accountID)
            return row?.state == "failed"
        }
        #expect(failed, "\(String(describing: row))")
        #expect(row?.attempts == 1)
        #expect(row?.lastError?.contains("550") == true, "\(String(describing: row?.lastError))")
        let mailID = try #require(try await fleet.database.query("""
            SELECT id::text AS id FROM mailing.mails WHERE customer_id = \(accountID) AND template = 'verification'
            """).first?.decode("id", as: String.self))
        let deadLetter = try await fleet.deadLetter(queue: "\(fleet.id).mail.dlq", messageID: mailID)
        #expect(deadLetter?.headers[EnvelopeHeader.errorType] != nil, "not in the mail dead-letter queue")
    }

    @Test("a send that keeps failing is retried after each configured wait, then failed and dead-lettered")
    func retriesExhausted() async throws {
        let fleet = try await PipelineFleet.shared.get()
        // A mail worker of its own (another namespace) whose SMTP server is never there.
        let namespace = "\(fleet.id)x"
        fleet.spawnMailWorker(namespace: namespace, smtpPort: try freeLocalPort(), retryDelays: "250ms,500ms,1s")
        defer { Task { try? await fleet.stop("worker-mail-\(namespace)") } }
        let id = try await fleet.publishMail(
            MailSend(template: .paymentReminder, customerID: "retry-\(UUID())", to: fleet.newAddress(), orderID: UUID(), data: ["reminder": "1"]),
            namespace: namespace)
        var row: MailRow?
        let failed = try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
            row = try await fleet.mailRow(id)
            return row?.state == "failed"
        }
        #expect(failed, "\(String(describing: row))")
        #expect(row?.attempts == 4, "one try and three retries")
        let deadLetter = try #require(try await fleet.deadLetter(queue: "\(namespace).mail.dlq", messageID: id.uuidString.lowercased()))
        #expect(deadLetter.headers[EnvelopeHeader.attempts]?.text == "4")
        #expect(deadLetter.headers[EnvelopeHeader.errorMessage]?.text.contains("SMTP") == true)
        // The three waits (250 ms, 500 ms, 1 s, each ±10%) lie between the first and the last failure.
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let first = try style.parse(try #require(deadLetter.headers[EnvelopeHeader.firstFailureAt]?.text))
        let last = try style.parse(try #require(deadLetter.headers[EnvelopeHeader.lastFailureAt]?.text))
        #expect(last.timeIntervalSince(first) >= 1.5, "retries came after \(last.timeIntervalSince(first)) s")
    }

    @Test("a command delivered twice sends one mail")
    func duplicate() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let email = fleet.newAddress()
        let command = MailSend(template: .paymentReceived, customerID: "dup-\(UUID())", to: email, orderID: UUID())
        let envelope = try MessageEnvelope(command, key: command.customerID)
        let message = envelope.amqpMessage(exchange: "\(fleet.id).work", routingKey: Destinations.mailKey)
        let duplicatesBefore = try await fleet.metric(
            #"messaging_messages_total{consumer="worker-mail",type="mail.send",outcome="duplicate"}"#, of: "worker-mail") ?? 0
        let connection = try AMQPConnection(configuration: try AMQPConfiguration(url: fleet.amqpURL), logger: PipelineFleet.logger)
        let runner = Task { try await connection.run() }
        defer { runner.cancel() }
        try await connection.publish(message)
        try await connection.publish(message)
        let arrived = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) { !fleet.smtp.mails(to: email).isEmpty }
        #expect(arrived)
        var row: MailRow?
        let recorded = try await eventually(timeout: .seconds(10), every: .milliseconds(100)) {
            row = try await fleet.mailRow(envelope.id)
            return row?.state == "sent"
        }
        #expect(recorded, "\(String(describing: row))")
        #expect(try await fleet.count("SELECT count(*) FROM mailing.mails WHERE id = \(envelope.id)") == 1)
        // The second copy is handled once the mail worker counts a duplicate mail command (other
        // suites' duplicates could only make this wait shorter, never fail it); then no second
        // mail can come.
        let duplicates = #"messaging_messages_total{consumer="worker-mail",type="mail.send",outcome="duplicate"}"#
        let handled = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
            (try await fleet.metric(duplicates, of: "worker-mail") ?? 0) > duplicatesBefore
        }
        #expect(handled, "the mail worker never counted the second copy as a duplicate")
        #expect(fleet.smtp.mails(to: email).count == 1)
    }
}

extension PipelineFleet {
    /// A sample of `series` (the metric's name with its labels, as `/metrics` prints them) from the
    /// fleet process `name`, at the metrics port its log names last; `nil` if it has none.
    func metric(_ series: String, of name: String) async throws -> Double? {
        let log = logDirectory.appendingPathComponent("\(name).log")
        let text = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        guard let line = text.split(separator: "\n").last(where: { $0.contains("metrics and health endpoints up") }),
              let port = line.firstMatch(of: /127\.0\.0\.1:(\d+)/).flatMap({ Int($0.1) })
        else { return nil }
        let body = try await ChildProcess.shell("curl -sf http://127.0.0.1:\(port)/metrics")
        guard let sample = body.split(separator: "\n").first(where: { $0.hasPrefix(series + " ") }) else { return nil }
        return Double(sample.dropFirst(series.count + 1).trimmingCharacters(in: .whitespaces))
    }

    /// A mail worker in a namespace of its own, sending to `smtpPort` with the given retry waits.
    func spawnMailWorker(namespace: String, smtpPort: Int, retryDelays: String) {
        spawn("worker-mail-\(namespace)", ["worker", "mail"], extraEnvironment: [
            "MESSAGING_NAMESPACE": namespace, "SMTP_URL": "smtp://127.0.0.1:\(smtpPort)", "MAIL_RETRY_DELAYS": retryDelays,
        ])
    }

    /// Publishes `command` to the namespace's work exchange once its mail worker has declared its
    /// queue (before that the publish is unroutable and refused); returns the message id.
    func publishMail(_ command: MailSend, namespace: String) async throws -> UUID {
        try await publishMails([command], namespace: namespace)[0]
    }

    /// Publishes `commands` in order, each by the routing key the domains send it with
    /// (`Destinations.mail`) unless `routingKey` is given, the first once the namespace's mail
    /// worker has declared its queues; returns their message ids.
    func publishMails(_ commands: [MailSend], namespace: String, routingKey: String? = nil) async throws -> [UUID] {
        let connection = try AMQPConnection(configuration: try AMQPConfiguration(url: amqpURL), logger: PipelineFleet.logger)
        let runner = Task { try await connection.run() }
        defer { runner.cancel() }
        var ids: [UUID] = []
        for command in commands {
            let envelope = try MessageEnvelope(command, key: command.customerID)
            let message = envelope.amqpMessage(exchange: "\(namespace).work", routingKey: routingKey ?? Destinations.mail(command).name)
            if ids.isEmpty {
                let published = try await eventually(timeout: .seconds(60), every: .milliseconds(250)) {
                    (try? await connection.publish(message)) != nil
                }
                try #require(published, "the mail worker of \(namespace) never declared its queues")
            } else {
                try await connection.publish(message)
            }
            ids.append(envelope.id)
        }
        return ids
    }

    func mailRow(_ id: UUID) async throws -> MailDeliveryTests.MailRow? {
        try await database.query("SELECT state, attempts, last_error FROM mailing.mails WHERE id = \(id)").first.map { row in
            MailDeliveryTests.MailRow(state: try row.decode("state"), attempts: try row.decode("attempts"), lastError: try row.decode("last_error"))
        }
    }

    var amqpURL: String { ProcessInfo.processInfo.environment["AMQP_URL"] ?? "amqp://emporium:emporium@127.0.0.1:5672" }

    func verificationMail(of accountID: String) async throws -> MailDeliveryTests.MailRow? {
        try await database.query("""
            SELECT state, attempts, last_error FROM mailing.mails WHERE customer_id = \(accountID) AND template = 'verification'
            """).first.map { row in
            MailDeliveryTests.MailRow(state: try row.decode("state"), attempts: try row.decode("attempts"), lastError: try row.decode("last_error"))
        }
    }

    /// Looks through a dead-letter queue for `messageID` (acking what it reads: nothing else in
    /// the tests reads this queue).
    func deadLetter(queue: String, messageID: String) async throws -> AMQPDelivery? {
        let connection = try AMQPConnection(configuration: try AMQPConfiguration(url: amqpURL), logger: PipelineFleet.logger)
        let runner = Task { try await connection.run() }
        defer { runner.cancel() }
        let deliveries = connection.consume(queue: queue, prefetch: 500)
        return try await withThrowingTaskGroup(of: AMQPDelivery?.self) { group in
            group.addTask {
                for try await delivery in deliveries {
                    try delivery.ack()
                    if delivery.messageID == messageID { return delivery }
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(20))
                return nil
            }
            let found = try await group.next() ?? nil
            group.cancelAll()
            return found
        }
    }
}
