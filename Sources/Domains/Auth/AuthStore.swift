import DomainKit
import Foundation
import Postgres
import Sodium

/// The SQL of the auth schema.
enum AuthStore {
    struct StoredAccount: Sendable {
        var account: Account
        var passwordHash: String
    }

    static let accountColumns = "id, email, role, verified_at, created_at, password_hash"

    static func account(_ row: PostgresRow) throws -> StoredAccount {
        let role: String = try row.decode("role")
        return StoredAccount(
            account: Account(
                id: try row.decode("id"), email: try row.decode("email"), role: Account.Role(rawValue: role) ?? .customer,
                verifiedAt: try row.decode("verified_at"), createdAt: try row.decode("created_at")),
            passwordHash: try row.decode("password_hash"))
    }

    static func account(email: String, on connection: PostgresConnection) async throws -> StoredAccount? {
        try await connection.query("SELECT \(unescaped: accountColumns) FROM auth.accounts WHERE email = \(email)").first.map(account)
    }

    static func account(id: UUID, forUpdate: Bool = false, on connection: PostgresConnection) async throws -> StoredAccount? {
        try await connection.query("""
            SELECT \(unescaped: accountColumns) FROM auth.accounts WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """).first.map(account)
    }

    /// Inserts the account; `false` if the address is taken.
    static func insert(id: UUID, email: String, passwordHash: String, role: Account.Role, verified: Bool, on connection: PostgresConnection) async throws -> Bool {
        try await connection.execute("""
            INSERT INTO auth.accounts (id, email, password_hash, role, verified_at)
            VALUES (\(id), \(email), \(passwordHash), \(role.rawValue), CASE WHEN \(verified) THEN now() END)
            ON CONFLICT (email) DO NOTHING
            """) == 1
    }

    // MARK: - Verification codes

    /// sha256(account id || code): the account id salts the six digits.
    static func codeHash(_ code: String, accountID: UUID) -> String {
        SHA256Digest.hex(accountID.uuidString.lowercased() + ":" + code)
    }

    static func replaceCode(accountID: UUID, codeHash: String, lifetime: Duration, on connection: PostgresConnection) async throws {
        try await connection.execute("""
            INSERT INTO auth.verification_codes (account_id, code_hash, expires_at)
            VALUES (\(accountID), \(codeHash), now() + \(lifetime.timeInterval) * interval '1 second')
            ON CONFLICT (account_id) DO UPDATE SET code_hash = excluded.code_hash, expires_at = excluded.expires_at,
                attempts = 0, created_at = now()
            """)
    }

    struct Code: Sendable {
        var codeHash: String
        var expiresAt: Date
        var attempts: Int
    }

    static func lockCode(accountID: UUID, on connection: PostgresConnection) async throws -> Code? {
        try await connection.query("""
            SELECT code_hash, expires_at, attempts FROM auth.verification_codes WHERE account_id = \(accountID) FOR UPDATE
            """).first.map { row in
            Code(codeHash: try row.decode("code_hash"), expiresAt: try row.decode("expires_at"), attempts: try row.decode("attempts"))
        }
    }

    // MARK: - Refresh tokens

    struct RefreshToken: Sendable {
        var id: UUID
        var familyID: UUID
        var accountID: UUID
        var expiresAt: Date
        var spentAt: Date?
        var spentBy: String?
        var revokedAt: Date?
        var sessionStartedAt: Date

        var state: AuthRules.RefreshTokenState {
            AuthRules.RefreshTokenState(
                expiresAt: expiresAt, spentAt: spentAt, spentBy: spentBy, revokedAt: revokedAt, sessionStartedAt: sessionStartedAt)
        }
    }

    static func insertRefreshToken(
        familyID: UUID, accountID: UUID, tokenHash: String, sessionStartedAt: Date, expiresAt: Date, on connection: PostgresConnection
    ) async throws {
        try await connection.execute("""
            INSERT INTO auth.refresh_tokens (id, family_id, account_id, token_hash, expires_at, session_started_at)
            VALUES (\(UUID()), \(familyID), \(accountID), \(tokenHash), \(expiresAt), \(sessionStartedAt))
            """)
    }

    static func lockRefreshToken(hash: String, on connection: PostgresConnection) async throws -> RefreshToken? {
        try await connection.query("""
            SELECT id, family_id, account_id, expires_at, spent_at, spent_by, revoked_at, session_started_at FROM auth.refresh_tokens
            WHERE token_hash = \(hash) FOR UPDATE
            """).first.map { row in
            RefreshToken(
                id: try row.decode("id"), familyID: try row.decode("family_id"), accountID: try row.decode("account_id"),
                expiresAt: try row.decode("expires_at"), spentAt: try row.decode("spent_at"), spentBy: try row.decode("spent_by"),
                revokedAt: try row.decode("revoked_at"), sessionStartedAt: try row.decode("session_started_at"))
        }
    }

    static func spendRefreshToken(_ id: UUID, by client: String, at now: Date, on connection: PostgresConnection) async throws {
        try await connection.execute("UPDATE auth.refresh_tokens SET spent_at = \(now), spent_by = \(client) WHERE id = \(id)")
    }

    /// Every refresh token of the account: all its sessions end.
    static func revokeSessions(of accountID: UUID, why: String, on connection: PostgresConnection) async throws {
        try await connection.execute("""
            UPDATE auth.refresh_tokens SET revoked_at = now(), revoked_why = \(why)
            WHERE account_id = \(accountID) AND revoked_at IS NULL
            """)
    }

    static func revokeFamily(_ familyID: UUID, why: String, on connection: PostgresConnection) async throws {
        try await connection.execute("""
            UPDATE auth.refresh_tokens SET revoked_at = now(), revoked_why = \(why)
            WHERE family_id = \(familyID) AND revoked_at IS NULL
            """)
    }
}

