import Foundation

/// A mail with a plain-text and an HTML part (`multipart/alternative`), as RFC 5322 bytes.
public struct SMTPMessage: Sendable, Hashable {
    public var to: String
    public var subject: String
    public var text: String
    public var html: String?
    /// The `Message-ID` (without angle brackets); stable per logical mail, so a receiving system
    /// can spot a copy sent twice.
    public var messageID: String
    /// Extra header fields (`X-Emporium-Template`, ...); names and values must be ASCII.
    public var headers: [(String, String)]

    public init(to: String, subject: String, text: String, html: String? = nil, messageID: String, headers: [(String, String)] = []) {
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.messageID = messageID
        self.headers = headers
    }

    public static func == (lhs: SMTPMessage, rhs: SMTPMessage) -> Bool {
        lhs.to == rhs.to && lhs.subject == rhs.subject && lhs.text == rhs.text && lhs.html == rhs.html
            && lhs.messageID == rhs.messageID && lhs.headers.elementsEqual(rhs.headers, by: ==)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(messageID)
        hasher.combine(to)
    }

    /// Whether `address` is one SMTP can carry: a local part and a domain, no spaces, brackets or
    /// line breaks (which would let a value inject header fields).
    public static func isDeliverable(_ address: String) -> Bool {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), address.utf8.count <= 254 else { return false }
        return address.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && !"<>()[],;:\\\"".unicodeScalars.contains($0) }
    }

    /// The message as sent: headers, then the parts in base64 (safe for any text and line length).
    func rendered(from: String, fromName: String?, date: Date = Date()) -> [UInt8] {
        let boundary = "emporium-" + UUID().uuidString.lowercased()
        var lines: [String] = []
        lines.append("From: " + (fromName.map { "\(Self.encodedWord($0)) <\(from)>" } ?? from))
        lines.append("To: \(to)")
        lines.append("Subject: \(Self.encodedWord(subject))")
        lines.append("Date: \(Self.rfc5322(date))")
        lines.append("Message-ID: <\(messageID)>")
        lines.append("MIME-Version: 1.0")
        for (name, value) in headers { lines.append("\(name): \(value)") }
        if let html {
            lines.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            lines.append("")
            lines.append(contentsOf: Self.part(text, type: "text/plain", boundary: boundary))
            lines.append(contentsOf: Self.part(html, type: "text/html", boundary: boundary))
            lines.append("--\(boundary)--")
        } else {
            lines.append("Content-Type: text/plain; charset=utf-8")
            lines.append("Content-Transfer-Encoding: base64")
            lines.append("")
            lines.append(contentsOf: Self.base64Lines(text))
        }
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    private static func part(_ body: String, type: String, boundary: String) -> [String] {
        ["--\(boundary)", "Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", ""] + base64Lines(body)
    }

    private static func base64Lines(_ body: String) -> [String] {
        let encoded = Data(body.utf8).base64EncodedString()
        return stride(from: 0, to: encoded.count, by: 76).map { start in
            let from = encoded.index(encoded.startIndex, offsetBy: start)
            let to = encoded.index(from, offsetBy: min(76, encoded.count - start))
            return String(encoded[from..<to])
        }
    }

    /// RFC 2047 for anything beyond printable ASCII; line breaks never get through.
    static func encodedWord(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        guard flat.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 }) else {
            return "=?UTF-8?B?\(Data(flat.utf8).base64EncodedString())?="
        }
        return flat
    }

    static func rfc5322(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
