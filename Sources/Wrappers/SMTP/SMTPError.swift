/// An error from the SMTP wrapper (libcurl), with the server's last reply code when there was one.
public struct SMTPError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case connection = "cannot reach the server"
            case rejected = "rejected by the server"
            case authentication = "authentication failed"
            case timeout = "timed out"
            case invalidConfiguration = "invalid configuration"
            case other = "transfer failed"
        }
        let base: Base

        public static let connection = Code(base: .connection)
        public static let rejected = Code(base: .rejected)
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

    /// A 5xx reply to the message itself (an unknown recipient, a refused sender or body) is
    /// permanent; everything else (the server down, a 4xx "try later", a timeout, credentials an
    /// operator can fix) may go better later.
    public var isRetriable: Bool {
        if code == .rejected, let replyCode, (500..<600).contains(replyCode) { return false }
        return code != .invalidConfiguration
    }

    public var description: String {
        var text = "SMTP \(code)"
        if let replyCode { text += " (reply \(replyCode))" }
        return text + ": \(message)"
    }
}
