public import DomainKit
public import Foundation

/// `POST /auth/register` and `POST /auth/login`.
public struct Credentials: Decodable, Sendable {
    public var email: String
    public var password: String

    public init(email: String, password: String) {
        self.email = email
        self.password = password
    }

    /// Every rule the fields break; a new account's password also meets the password rules.
    public func validate(newPassword: Bool) throws(DomainError) {
        var validation = Validation()
        validation.require(Self.isEmail(email), "email", "not an e-mail address")
        if newPassword {
            PasswordRules.new(password, field: "password", &validation)
        } else {
            validation.require(!password.isEmpty && password.utf8.count <= 1024, "password", "1 to 1024 bytes")
        }
        try validation.check()
    }

    /// Trimmed and in lower case: how addresses are stored and compared.
    public var normalisedEmail: String { Self.normalised(email) }

    public static func normalised(_ email: String) -> String { email.trimmingCharacters(in: .whitespaces).lowercased() }

    public static func isEmail(_ text: String) -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              (3...254).contains(trimmed.utf8.count)
        else { return false }
        return trimmed.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && !"<>()[],;:\\\"".unicodeScalars.contains($0) }
    }
}

/// `POST /auth/verify`.
public struct VerificationAttempt: Decodable, Sendable {
    public var email: String
    public var code: String

    public init(email: String, code: String) {
        self.email = email
        self.code = code
    }
}

/// `POST /auth/resend`.
public struct ResendRequest: Decodable, Sendable {
    public var email: String
}

/// `POST /me/password`: the signed-in account's new password, with its current one.
public struct PasswordChange: Decodable, Sendable {
    public var currentPassword: String
    public var newPassword: String

    public init(currentPassword: String, newPassword: String) {
        self.currentPassword = currentPassword
        self.newPassword = newPassword
    }

    public func validate() throws(DomainError) {
        var validation = Validation()
        validation.require(!currentPassword.isEmpty && currentPassword.utf8.count <= 1024, "currentPassword", "1 to 1024 bytes")
        PasswordRules.new(newPassword, field: "newPassword", &validation)
        try validation.check()
    }
}

/// `POST /auth/password-reset`: a code by mail for a forgotten password.
public struct PasswordResetRequest: Decodable, Sendable {
    public var email: String
}

/// `POST /auth/password-reset/confirm`: the mailed code and the new password.
public struct PasswordReset: Decodable, Sendable {
    public var email: String
    public var code: String
    public var newPassword: String

    public init(email: String, code: String, newPassword: String) {
        self.email = email
        self.code = code
        self.newPassword = newPassword
    }

    public func validate() throws(DomainError) {
        var validation = Validation()
        validation.require(Credentials.isEmail(email), "email", "not an e-mail address")
        validation.require(code.count == 6 && code.allSatisfy { $0.isASCII && $0.isNumber }, "code", "6 digits")
        PasswordRules.new(newPassword, field: "newPassword", &validation)
        try validation.check()
    }
}

/// `DELETE /me`: the account's password, to confirm.
public struct AccountDeletion: Decodable, Sendable {
    public var password: String

    public init(password: String) {
        self.password = password
    }
}

/// What a new password must be.
public enum PasswordRules {
    public static func new(_ password: String, field: String, _ validation: inout Validation) {
        validation.require(password.count >= 10, field, "at least 10 characters")
        validation.require(password.utf8.count <= 1024, field, "at most 1024 bytes")
    }
}

/// `POST /auth/refresh` and `POST /auth/logout`.
public struct RefreshRequest: Decodable, Sendable {
    public var refreshToken: String
}

/// An account as the API shows it.
/// What `POST /auth/register` answers, whether the address was free or not.
public struct RegistrationReceived: Codable, Sendable {
    public var email: String
    public var message = "If the address can be registered, a verification code is on its way; check your mail."

    public init(email: String) {
        self.email = email
    }
}

public struct AccountView: Codable, Sendable {
    /// Lower-case, like every id the API shows.
    public var id: String
    public var email: String
    public var role: String
    public var verified: Bool
    public var createdAt: Date

    public init(_ account: Account) {
        id = account.id.uuidString.lowercased()
        email = account.email
        role = account.role.rawValue
        verified = account.isVerified
        createdAt = account.createdAt
    }
}

/// What login and refresh return.
public struct TokenPair: Codable, Sendable {
    public var accessToken: String
    public var tokenType = "Bearer"
    /// Seconds.
    public var expiresIn: Int
    public var refreshToken: String
    public var refreshExpiresIn: Int

    public init(accessToken: String, expiresIn: Int, refreshToken: String, refreshExpiresIn: Int) {
        self.accessToken = accessToken
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
        self.refreshExpiresIn = refreshExpiresIn
    }
}

/// Where a change came from: the request's id and correlation id, carried into its events.
public struct RequestOrigin: Sendable {
    public var requestID: String
    public var correlationID: String
    /// The client's address, for per-client login throttling.
    public var client: String
    /// The request's W3C traceparent.
    public var traceParent: String?

    public init(requestID: String, correlationID: String, client: String, traceParent: String? = nil) {
        self.requestID = requestID
        self.correlationID = correlationID
        self.client = client
        self.traceParent = traceParent
    }
}
