import NIOPosix
public import Sodium

/// argon2id hashing and verifying off the cooperative pool (each takes tens to hundreds of
/// milliseconds of a core and `cost.memoryLimit` bytes), on NIO's blocking thread pool, which
/// also bounds how many run at once to its size.
public struct PasswordVault: Sendable {
    let hasher: PasswordHasher
    /// A hash of nothing anyone knows: a login for an unknown address verifies against it, so it
    /// takes as long as one for a known address.
    let decoy: String
    let threadPool: NIOThreadPool

    private init(hasher: PasswordHasher, decoy: String, threadPool: NIOThreadPool) {
        self.hasher = hasher
        self.decoy = decoy
        self.threadPool = threadPool
    }

    /// A vault with `cost`; its decoy hash is made on the blocking pool too.
    public static func make(cost: PasswordHasher.Cost) async throws -> PasswordVault {
        let hasher = try PasswordHasher(cost: cost)
        let threadPool = NIOThreadPool.singleton
        let decoy = try await threadPool.runIfActive { try hasher.hash(SecureRandom.bytes(32).map { String($0, radix: 16) }.joined()) }
        return PasswordVault(hasher: hasher, decoy: decoy, threadPool: threadPool)
    }

    func hash(_ password: String) async throws -> String {
        let hasher = self.hasher
        return try await threadPool.runIfActive { try hasher.hash(password) }
    }

    /// Whether `password` matches `hash`; with no hash (no such account), the decoy is verified
    /// and the answer is no.
    func verify(_ password: String, against hash: String?) async throws -> Bool {
        let hasher = self.hasher
        let target = hash ?? decoy
        let matches = try await threadPool.runIfActive { hasher.verify(password, against: target) }
        return matches && hash != nil
    }
}
