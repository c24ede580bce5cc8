/// An error from the SMTP wrapper (libcurl), with the server's last reply code when there was one.
public struct SMTPError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case connection = "cannot reach the server"
            case rejected = "rejected by the server"
            case recipientRefused = "recipient refused"
            case authentication = "authentication failed"
            case timeout = "timed out"
            case invalidConfiguration = "invalid configuration"
            case other = "transfer failed"
        }
        let base: Base

        public static let connection = Code(base: .connection)
        /// The server refused the sender, the message or a command (a 4xx or 5xx reply).
        public static let rejected = Code(base: .rejected)
        /// The server refused the recipient (its reply to RCPT TO).
        public static let recipientRefused = Code(base: .recipientRefused)
        public static let authentication = Code(base: .authentication)
        public static let timeout = Code(base: .timeout)
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        public static let other = Code(base: .other)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    /// libcurl's `CURLcode`.
    public let nativeCode: Int32?
    /// The SMTP server's last reply code (`550`, `421`, ...), if it answered.
    public let replyCode: Int?
    public let file: String
    public let line: Int

    init(_ code: Code, _ message: String, nativeCode: Int32? = nil, replyCode: Int? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.nativeCode = nativeCode
        self.replyCode = replyCode
        self.file = file
        self.line = line
    }

    /// Only a 5xx refusal of the recipient (an unknown mailbox) is permanent for that mail.
    /// Everything else may go better later: the server down, a 4xx "try later", a timeout, and
    /// refusals an operator can fix (530 authentication required, 554 relaying denied, a refused
    /// sender), which would otherwise fail every mail at once.
    public var isRetriable: Bool {
        if code == .recipientRefused, let replyCode, (500..<600).contains(replyCode) { return false }
        return code != .invalidConfiguration
    }

    public var description: String {
        var text = "SMTP \(code)"
        if let replyCode { text += " (reply \(replyCode))" }
        return text + ": \(message)"
    }
}
