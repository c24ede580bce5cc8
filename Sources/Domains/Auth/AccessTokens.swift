public import Foundation
public import HTTPRuntime
import JWTKit

/// Short-lived access tokens: HS256 JWTs with `iss`, `aud`, `exp`, `nbf`, `iat`, `sub` (the
/// account id), `jti` and `role`. Verification checks the signature, the times, the issuer and
/// the audience; anything else about the token is not trusted.
public struct AccessTokens: Sendable {
    public struct Settings: Sendable {
        /// At least 32 bytes (jwt-kit asserts on shorter HMAC keys; start-up refuses them first).
        public var secret: [UInt8]
        public var issuer: String
        public var audience: String
        public var lifetime: Duration
        /// Clock difference tolerated on `exp` and `nbf`.
        public var leeway: Duration

        public static let minimumSecretLength = 32

        public init(secret: [UInt8], issuer: String, audience: String, lifetime: Duration = .seconds(900), leeway: Duration = .seconds(5)) {
            self.secret = secret
            self.issuer = issuer
            self.audience = audience
            self.lifetime = lifetime
            self.leeway = leeway
        }
    }

    struct Claims: JWTPayload {
        var iss: IssuerClaim
        var aud: AudienceClaim
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var nbf: NotBeforeClaim
        var iat: IssuedAtClaim
        var jti: IDClaim
        var role: String

        /// The times, issuer and audience are checked by ``AccessTokens/caller(fromBearer:now:)``,
        /// with leeway and a precise answer.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    public let settings: Settings
    let keys: JWTKeyCollection

    public init(settings: Settings) async {
        precondition(settings.secret.count >= Settings.minimumSecretLength, "checked by the configuration")
        self.settings = settings
        keys = await JWTKeyCollection().add(hmac: HMACKey(from: settings.secret), digestAlgorithm: .sha256)
    }

    /// A token for `subject` with `role`, and when it expires.
    public func issue(subject: String, role: String, now: Date = Date()) async throws -> (token: String, expiresAt: Date) {
        let expiresAt = now.addingTimeInterval(settings.lifetime.timeInterval)
        let claims = Claims(
            iss: IssuerClaim(value: settings.issuer), aud: AudienceClaim(value: [settings.audience]),
            sub: SubjectClaim(value: subject), exp: ExpirationClaim(value: expiresAt), nbf: NotBeforeClaim(value: now),
            iat: IssuedAtClaim(value: now), jti: IDClaim(value: UUID().uuidString.lowercased()), role: role)
        return (try await keys.sign(claims), expiresAt)
    }

    /// The caller a bearer token stands for, or a 401 problem saying what is wrong with it.
    public func caller(fromBearer token: String, now: Date = Date()) async throws(Problem) -> Caller {
        let claims: Claims
        do {
            claims = try await keys.verify(token, as: Claims.self)
        } catch {
            throw Self.unauthorized("The access token is not valid: \(Self.reason(error)).")
        }
        let leeway = settings.leeway.timeInterval
        guard claims.exp.value.addingTimeInterval(leeway) > now else { throw Self.unauthorized("The access token has expired.") }
        guard claims.nbf.value.addingTimeInterval(-leeway) <= now else { throw Self.unauthorized("The access token is not valid yet.") }
        guard claims.iss.value == settings.issuer else { throw Self.unauthorized("The access token was issued by someone else.") }
        guard claims.aud.value.contains(settings.audience) else { throw Self.unauthorized("The access token is for another audience.") }
        guard let role = Caller.Role(token: claims.role) else { throw Self.unauthorized("The access token has an unknown role.") }
        return Caller(id: claims.sub.value, role: role)
    }

    static func unauthorized(_ detail: String) -> Problem {
        Problem(.unauthorized, "Unauthorized", detail: detail, headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
    }

    private static func reason(_ error: any Error) -> String {
        guard let error = error as? JWTError else { return "it cannot be read" }
        switch error.errorType {
        case .claimVerificationFailure: return error.reason ?? "a claim failed"
        case .signatureVerificationFailed: return "the signature does not match"
        default: return "it is malformed"
        }
    }

}

extension Caller.Role {
    init?(token: String) {
        switch token {
        case "customer": self = .customer
        case "admin": self = .admin
        default: return nil
        }
    }
}
