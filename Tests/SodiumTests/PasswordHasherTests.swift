import Sodium
import Testing

@Suite("argon2id, random codes, SHA-256 (libsodium)")
struct PasswordHasherTests {
    @Test("a hash verifies its password only, carries its parameters, and is salted")
    func hashAndVerify() throws {
        let hasher = try PasswordHasher(cost: .minimum)
        let hash = try hasher.hash("correct horse battery")
        #expect(hash.hasPrefix("$argon2id$"))
        #expect(hasher.verify("correct horse battery", against: hash))
        #expect(!hasher.verify("correct horse batterz", against: hash))
        #expect(!hasher.verify("", against: hash))
        #expect(try hasher.hash("correct horse battery") != hash)
        #expect(!hasher.needsRehash(hash))
        #expect(try PasswordHasher(cost: .interactive).needsRehash(hash))
        #expect(!hasher.verify("anything", against: "not a hash"))
    }

    @Test("costs outside libsodium's range are refused")
    func costOutOfRange() {
        #expect(throws: SodiumError.self) { try PasswordHasher(cost: .init(operations: 0, memoryLimit: 1024)) }
    }

    @Test("codes are six decimal digits and vary")
    func codes() {
        let codes = (0..<200).map { _ in SecureRandom.digits(6) }
        #expect(codes.allSatisfy { $0.count == 6 && $0.allSatisfy(\.isNumber) })
        #expect(Set(codes).count > 190)
        #expect(SecureRandom.bytes(32).count == 32 && SecureRandom.bytes(32) != SecureRandom.bytes(32))
    }

    @Test("SHA-256 matches the published test vector")
    func sha256() {
        #expect(SHA256Digest.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Digest.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
