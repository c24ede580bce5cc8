import Foundation

/// Secrets that must never reach a running role: placeholders copied from an example file, and
/// values this repository has published (earlier development keys). Each role checks every
/// secret key it is given, whether it uses that key or not, because one Secret is shared by all
/// roles: a placeholder anywhere means the deployment was not finished.
enum SecretGuard {

    /// Values published in this repository's history: usable by anyone who reads it.
    static let publishedValues: Set<String> = [
        "emporium-local-development-key-not-for-production",
        "emporium-admin",
        "emporium-compose-development-jwt-secret-NOT-FOR-PRODUCTION",
    ]

    /// Why `value` of `key` is unusable, or nil. Never repeats the value: it may be a real
    /// secret someone pasted next to a placeholder.
    static func refusal(_ value: String) -> String? {
        if value.range(of: "CHANGE-ME", options: .caseInsensitive) != nil {
            return "is a placeholder (contains CHANGE-ME): set a real secret"
        }
        if publishedValues.contains(value) {
            return "is a development value published in the Emporium repository: set a secret of your own"
        }
        return nil
    }

    /// The password inside a URL's user-info (`scheme://user:password@host`), as written: a
    /// placeholder is refused whatever the URL's shape, even one the URL parsers would reject.
    static func password(inURL text: String) -> String? {
        guard let scheme = text.range(of: "://") else { return nil }
        let rest = text[scheme.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return nil }
        let userInfo = rest[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return nil }
        let password = String(userInfo[userInfo.index(after: colon)...])
        return password.removingPercentEncoding ?? password
    }
}

extension SettingsReader {
    /// Stops start-up when any secret is a placeholder or a published development value,
    /// naming the key (never the value).
    public func refusePlaceholderSecrets() throws {
        for key in keys {
            guard let value = text(key) else { continue }
            switch key.secrecy {
            case .none:
                continue
            case .whole:
                if let refusal = SecretGuard.refusal(value) { throw ConfigurationError(key: key.name, message: refusal) }
            case .urlPassword:
                // Anywhere in the URL, so that a placeholder is found even where the URL's shape (an
                // unencoded @ or / in the password) would keep the password from being picked out.
                if let refusal = SecretGuard.refusal(value) ?? SecretGuard.password(inURL: value).flatMap(SecretGuard.refusal) {
                    throw ConfigurationError(key: key.name, message: "the URL's password \(refusal)")
                }
            }
        }
    }
}
