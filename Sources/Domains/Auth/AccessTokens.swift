public import Foundation
public import HTTPRuntime
import JWTKit
import Synchronization

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
    /// Tokens that passed every check, by their whole text: see ``VerifiedTokens``.
    let verified: VerifiedTokens

    /// `remembered`: how many verified tokens the process keeps (``VerifiedTokens``).
    public init(settings: Settings, remembered: Int = 10_000) async {
        precondition(settings.secret.count >= Settings.minimumSecretLength, "checked by the configuration")
        self.settings = settings
        keys = await JWTKeyCollection().add(hmac: HMACKey(from: settings.secret), digestAlgorithm: .sha256)
        verified = VerifiedTokens(capacity: remembered)
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
        if let known = verified[token] {
            try checkTimes(expires: known.expires, notBefore: known.notBefore, now: now)
            return known.caller
        }
        let claims: Claims
        do {
            claims = try await keys.verify(token, as: Claims.self)
        } catch {
            throw Self.unauthorized("The access token is not valid: \(Self.reason(error)).")
        }
        try checkTimes(expires: claims.exp.value, notBefore: claims.nbf.value, now: now)
        guard claims.iss.value == settings.issuer else { throw Self.unauthorized("The access token was issued by someone else.") }
        guard claims.aud.value.contains(settings.audience) else { throw Self.unauthorized("The access token is for another audience.") }
        guard let role = Caller.Role(token: claims.role) else { throw Self.unauthorized("The access token has an unknown role.") }
        let caller = Caller(id: claims.sub.value, role: role)
        verified.remember(token, VerifiedTokens.Entry(caller: caller, expires: claims.exp.value, notBefore: claims.nbf.value), now: now)
        return caller
    }

    private func checkTimes(expires: Date, notBefore: Date, now: Date) throws(Problem) {
        let leeway = settings.leeway.timeInterval
        guard expires.addingTimeInterval(leeway) > now else { throw Self.unauthorized("The access token has expired.") }
        guard notBefore.addingTimeInterval(-leeway) <= now else { throw Self.unauthorized("The access token is not valid yet.") }
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

/// The access tokens this process has verified, by their whole text, with the times each one is
/// valid between. A client sends the same token with each request for its lifetime (15 minutes):
/// its signature and claims are checked at its first use, and at each later one only its times
/// (the HMAC and the JSON decoding of the claims were some 4 to 9 % of the API's CPU per order).
/// Only the exact text that verified is recognised: any other byte makes another key, checked in
/// full. Bounded: when full, the tokens past their expiry go, and if that frees less than a tenth,
/// all go (they are checked again at their next use), so that a full memory is not swept again
/// for nearly every new token.
final class VerifiedTokens: Sendable {
    struct Entry: Sendable {
        var caller: Caller
        var expires: Date
        var notBefore: Date
    }

    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    subscript(token: String) -> Entry? {
        entries.withLock { $0[token] }
    }

    var count: Int { entries.withLock(\.count) }

    func remember(_ token: String, _ entry: Entry, now: Date) {
        guard capacity > 0 else { return }
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.expires > now }
                if entries.count > capacity - max(1, capacity / 10) { entries.removeAll(keepingCapacity: true) }
            }
            entries[token] = entry
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
