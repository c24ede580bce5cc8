/// Connection URLs as they may be shown: in errors and logs, never with their password.
public enum CredentialRedaction {
    /// `scheme://user:secret@host/...` as `scheme://user:***@host/...` (and `scheme://:secret@`
    /// as `scheme://:***@`), for every URL in `text`; the rest of the text is kept.
    public static func redact(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            result += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            // The authority ends at the first '/', '?', '#', quote or space; its user-info at the
            // last '@' inside it.
            let authorityEnd = rest.firstIndex { "/?#\" '\n".contains($0) } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                result += authority[...colon] + "***" + authority[at...]
            } else {
                result += authority
            }
            rest = rest[authorityEnd...]
        }
        return result + rest
    }
}
