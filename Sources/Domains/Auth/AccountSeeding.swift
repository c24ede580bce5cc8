import Contracts
import Foundation
public import Postgres

/// Verified accounts with known passwords, for trying Emporium out (`emporium seed`); each new
/// one announced with `user.verified`, so the mail worker knows where its mail goes.
public struct AccountSeeding: Sendable {
    let database: PostgresRouter
    let passwords: PasswordVault

    public init(database: PostgresRouter, passwords: PasswordVault) {
        self.database = database
        self.passwords = passwords
    }

    /// Creates the account unless the address is taken; whether it was created.
    @discardableResult
    public func ensure(email: String, password: String, admin: Bool = false) async throws -> Bool {
        let email = email.lowercased()
        let hash = try await passwords.hash(password)
        let id = UUID()
        return try await database.withTransaction { connection in
            guard try await AuthStore.insert(id: id, email: email, passwordHash: hash, role: admin ? .admin : .customer, verified: true, on: connection)
            else { return false }
            let origin = RequestOrigin(requestID: "seed", correlationID: "seed-\(id.uuidString.lowercased())", client: "seed")
            try await AuthService.publish(UserVerified(accountID: id, email: email), accountID: id, origin: origin, on: connection)
            return true
        }
    }
}
