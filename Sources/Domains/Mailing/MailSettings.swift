public import DomainRuntime
import Foundation
public import Messaging
public import SMTP

/// The mail worker. Keys: ``MailKeys``.
public struct MailSettings: Sendable {
    public var smtp: SMTPConfiguration
    public var retry: RetryPolicy
    public var retention: Duration

    public init(settings reader: SettingsReader) throws {
        let keys = MailKeys()
        let timeout = try reader.value(keys.timeout)
        let from = try reader.value(keys.from)
        guard SMTPMessage.isDeliverable(from) else { throw ConfigurationError(key: keys.from.name, message: "not an e-mail address: \(from)") }
        let startTLS = try reader.value(keys.startTLS)
        let fromName = try reader.value(keys.fromName)
        let username = try reader.value(keys.username), password = try reader.value(keys.password)
        smtp = try reader.parse(keys.url) { url in
            do {
                return try SMTPConfiguration(
                    url: url, from: from, fromName: fromName, username: username, password: password,
                    startTLS: startTLS, connectTimeout: min(timeout, .seconds(10)), timeout: timeout)
            } catch let error as SMTPError {
                throw SettingProblem.invalid(error.message)
            }
        }
        // Credentials never travel in clear: with them, TLS is required (smtps://, or STARTTLS
        // required; opportunistic STARTTLS can be stripped by anyone on the path).
        if smtp.username != nil || smtp.password != nil, !smtp.url.hasPrefix("smtps://"), smtp.startTLS != .required {
            throw ConfigurationError(key: keys.startTLS.name, message: "must be required when SMTP credentials are set (or use smtps://)")
        }
        retry = RetryPolicy(schedule: try reader.value(keys.retryDelays))
        retention = try reader.value(keys.retention)
    }
}

public struct MailKeys: SettingGroup {
    public var title: String { "Mail" }

    public init() {}

    public let url = Setting.text(
        "SMTP_URL", default: "smtp://127.0.0.1:1025", secrecy: .urlPassword,
        meaning: "`smtp://` (STARTTLS per `SMTP_STARTTLS`) or `smtps://` (TLS from the first byte); credentials may be in the URL")
    public let username = Setting.optionalText("SMTP_USERNAME", meaning: "SMTP authentication")
    public let password = Setting.optionalText("SMTP_PASSWORD", secrecy: .whole, meaning: "SMTP authentication")
    public let startTLS = Setting<SMTPConfiguration.StartTLS>.choice(
        "SMTP_STARTTLS", default: "opportunistic", ["opportunistic": .opportunistic, "required": .required, "never": .never],
        meaning: "whether a `smtp://` connection upgrades to TLS; `required` when credentials are set")
    public let timeout = Setting.duration("SMTP_TIMEOUT", default: .seconds(60), atLeast: .seconds(1), meaning: "per mail")
    public let from = Setting.text("MAIL_FROM", default: "no-reply@emporium.local", meaning: "the sender's address")
    public let fromName = Setting.text("MAIL_FROM_NAME", default: "Emporium", meaning: "the sender's name")
    public let retryDelays = Setting.durations(
        "MAIL_RETRY_DELAYS", default: [.seconds(10), .seconds(60), .seconds(300), .seconds(1800)],
        meaning: "the wait before each retry of a failed send; after the last the mail is `failed` and dead-lettered to `<ns>.mail.dlq`")
    // The record is how a mail command delivered again is known as sent.
    public let retention = Setting.duration(
        "MAIL_RETENTION", default: .seconds(30 * 86_400), atLeast: .seconds(60),
        meaning: "how long the record of a sent or failed mail (`mailing.mails`) is kept; the notification feed keeps the entry, "
            + "without its delivery details")
}
