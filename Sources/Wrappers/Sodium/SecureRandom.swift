internal import CSodium

/// Unpredictable bytes and numbers from the operating system's CSPRNG (libsodium `randombytes`).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        try? Sodium.ensureInitialised()
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { randombytes_buf(base, buffer.count) }
        }
        return bytes
    }

    /// A uniform number in `0..<upperBound`, without modulo bias.
    public static func uniform(below upperBound: UInt32) -> UInt32 {
        try? Sodium.ensureInitialised()
        return randombytes_uniform(upperBound)
    }

    /// `count` decimal digits, each uniform: a one-time code.
    public static func digits(_ count: Int) -> String {
        String((0..<count).map { _ in Character(String(uniform(below: 10))) })
    }
}

/// SHA-256, for storing secrets that are already high-entropy (refresh tokens, codes with a
/// salt of their own) where a slow KDF would add nothing.
public enum SHA256Digest {
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        try? Sodium.ensureInitialised()
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        let input = Array(bytes) + [0]
        input.withUnsafeBufferPointer { buffer in
            _ = crypto_hash_sha256(&digest, buffer.baseAddress!, UInt64(buffer.count - 1))
        }
        return digest
    }

    /// Lower-case hex of the digest.
    public static func hex(_ text: String) -> String {
        hash(Array(text.utf8)).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
