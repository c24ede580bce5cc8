import Foundation
import Messaging
import SMTP

/// The mail worker.
///
/// Keys: `SMTP_URL` (`smtp://127.0.0.1:1025`; `smtps://` for TLS from the start),
/// `SMTP_USERNAME`, `SMTP_PASSWORD` (or in the URL; then TLS is required), `SMTP_STARTTLS`
/// (`opportunistic`, `required` or `never`), `SMTP_TIMEOUT` (`60s`), `MAIL_FROM` (`no-reply@emporium.local`), `MAIL_FROM_NAME`
/// (`Emporium`), `MAIL_RETRY_DELAYS` (`10s,1m,5m,30m`: the wait before each retry of a failed
/// send; after the last, the mail is failed and dead-lettered), `MAIL_RETENTION` (`30d`: how long the
/// record of a sent or failed mail is kept).
struct MailSettings: Sendable {
    var smtp: SMTPConfiguration
    var retry: RetryPolicy
    var retention: Duration

    init(environment: Environment) throws {
        let startTLS = try environment.parse("SMTP_STARTTLS", default: "opportunistic") { text in
            guard let value = SMTPConfiguration.StartTLS(text) else {
                throw ConfigurationError(key: "SMTP_STARTTLS", message: "expected opportunistic, required or never, got \"\(text)\"")
            }
            return value
        }
        let timeout = try environment.duration("SMTP_TIMEOUT", default: .seconds(60))
        let from = environment.string("MAIL_FROM", default: "no-reply@emporium.local")
        guard SMTPMessage.isDeliverable(from) else { throw ConfigurationError(key: "MAIL_FROM", message: "not an e-mail address: \(from)") }
        smtp = try environment.parse("SMTP_URL", default: "smtp://127.0.0.1:1025") { url in
            do {
                return try SMTPConfiguration(
                    url: url, from: from, fromName: environment.string("MAIL_FROM_NAME", default: "Emporium"),
                    username: environment.optionalString("SMTP_USERNAME"), password: environment.optionalString("SMTP_PASSWORD"),
                    startTLS: startTLS, connectTimeout: min(timeout, .seconds(10)), timeout: timeout)
            } catch {
                throw ConfigurationError(key: "SMTP_URL", message: (error as? SMTPError)?.message ?? "\(error)")
            }
        }
        // Credentials never travel in clear: with them, TLS is required (smtps://, or STARTTLS
        // required; opportunistic STARTTLS can be stripped by anyone on the path).
        if smtp.username != nil || smtp.password != nil, !smtp.url.hasPrefix("smtps://"), smtp.startTLS != .required {
            throw ConfigurationError(key: "SMTP_STARTTLS", message: "must be required when SMTP credentials are set (or use smtps://)")
        }
        let delays = try environment.durations("MAIL_RETRY_DELAYS", default: [.seconds(10), .seconds(60), .seconds(300), .seconds(1800)])
        retry = RetryPolicy(schedule: delays)
        retention = try environment.duration("MAIL_RETENTION", default: .seconds(30 * 86_400))
        // The record is how a mail command delivered again is known as sent.
        if retention < .seconds(60) { throw ConfigurationError(key: "MAIL_RETENTION", message: "must be at least 1m") }
    }
}
