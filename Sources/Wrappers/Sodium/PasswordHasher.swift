internal import CSodium

/// Password hashing with argon2id (libsodium's `crypto_pwhash_str`): memory-hard, salted, and
/// self-describing, so a stored hash carries its own parameters and older costs still verify.
///
/// Hashing and verifying take `cost.memoryLimit` bytes and tens to hundreds of milliseconds of
/// one core: they block, so callers run them off the cooperative pool.
public struct PasswordHasher: Sendable {
    /// argon2id's work factors.
    public struct Cost: Sendable, Hashable {
        /// Passes over memory.
        public var operations: Int
        /// Bytes of memory per hash.
        public var memoryLimit: Int

        public init(operations: Int, memoryLimit: Int) {
            self.operations = operations
            self.memoryLimit = memoryLimit
        }

        /// libsodium's interactive profile: 2 passes over 64 MiB.
        public static var interactive: Cost {
            Cost(operations: Int(crypto_pwhash_opslimit_interactive()), memoryLimit: Int(crypto_pwhash_memlimit_interactive()))
        }

        /// The least libsodium accepts; for tests only.
        public static var minimum: Cost {
            Cost(operations: Int(crypto_pwhash_opslimit_min()), memoryLimit: Int(crypto_pwhash_memlimit_min()))
        }
    }

    public let cost: Cost

    public init(cost: Cost = .interactive) throws(SodiumError) {
        try Sodium.ensureInitialised()
        guard cost.operations >= Int(crypto_pwhash_opslimit_min()), cost.operations <= Int(crypto_pwhash_opslimit_max()),
              cost.memoryLimit >= Int(crypto_pwhash_memlimit_min()), cost.memoryLimit <= Int(crypto_pwhash_memlimit_max())
        else {
            throw SodiumError(.invalidArgument, "argon2id cost out of range: \(cost.operations) passes, \(cost.memoryLimit) bytes")
        }
        self.cost = cost
    }

    /// The password's argon2id string (`$argon2id$v=19$m=...`), with a fresh random salt.
    public func hash(_ password: String) throws(SodiumError) -> String {
        var output = [CChar](repeating: 0, count: emp_pwhash_strbytes())
        let length = UInt64(password.utf8.count)
        let status = password.withCString { input in
            crypto_pwhash_str_alg(&output, input, length, UInt64(cost.operations), cost.memoryLimit, emp_pwhash_alg_argon2id13())
        }
        guard status == 0 else { throw SodiumError(.outOfMemory, "crypto_pwhash_str_alg failed (\(cost.memoryLimit) bytes)") }
        return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `password` matches `hash` (in constant time for a given hash).
    public func verify(_ password: String, against hash: String) -> Bool {
        let length = UInt64(password.utf8.count)
        return password.withCString { input in crypto_pwhash_str_verify(hash, input, length) == 0 }
    }

    /// Whether `hash` was made with other parameters than this hasher's (rehash at next login).
    public func needsRehash(_ hash: String) -> Bool {
        crypto_pwhash_str_needs_rehash(hash, UInt64(cost.operations), cost.memoryLimit) != 0
    }
}
