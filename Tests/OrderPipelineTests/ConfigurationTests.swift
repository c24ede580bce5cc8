import EmporiumTestSupport
import Foundation
import Testing

/// A wrong setting stops a role at start-up, before it connects anywhere, naming the key.
@Suite("Order pipeline configuration")
struct ConfigurationTests {
    @Test("a wrong value stops the role with the key's name", arguments: [
        ("api", "ORDER_EXPIRY_DELAY", "1h", ["ORDER_REMINDER_DELAYS": "2h"]),
        ("api", "ORDER_MAX_OPEN_ORDERS", "0", [:]),
        ("api", "ORDER_REMINDER_DELAYS", "soon", [:]),
        ("api", "ORDER_IDEMPOTENCY_LOCK_TTL", "-3s", [:]),
        ("api", "ORDER_IDEMPOTENCY_LOCK_TTL", "2m", ["ORDER_IDEMPOTENCY_RETENTION": "1m"]),
        ("api", "API_PORT", "99999", [:]),
        ("api", "AUTH_JWT_SECRET", "shorter-than-32-bytes", [:]),
        ("api", "RATE_LIMIT_READ", "lots", [:]),
        ("worker mail", "SMTP_URL", "http://mail.example", [:]),
        ("worker mail", "MAIL_RETRY_DELAYS", "1s,never", [:]),
        ("worker auth", "AUTH_CODE_TTL", "0s", [:]),
        ("worker product", "MESSAGING_NAMESPACE", "two words", [:]),
        ("worker product", "KAFKA_SESSION_TIMEOUT", "long", [:]),
        ("worker order", "POSTGRES_POOL_SIZE", "0", [:]),
        ("worker order", "MESSAGING_DELAY_LEVELS", "1s,banana", [:]),
        ("worker order", "ORDER_IDEMPOTENCY_RETENTION", "30s", [:]),
        ("worker mail", "MAIL_RETENTION", "forever", [:]),
        ("worker product", "MESSAGING_INBOX_RETENTION", "10s", [:]),
        // The delay levels are derived from the order timings in every role.
        ("relay", "ORDER_REMINDER_DELAYS", "soon", [:]),
        ("api", "API_TRUSTED_PROXIES", "10.0.0.0/33", [:]),
        ("api", "API_TRUSTED_PROXIES", "proxy.internal", [:]),
    ] as [(String, String, String, [String: String])])
    func wrongValueNamesTheKey(role: String, key: String, value: String, other: [String: String]) async throws {
        let settings = other.merging([key: value]) { $1 }
        let assignments = settings.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        let output = try await ChildProcess.shell(
            "env \(assignments) '\(PipelineFleet.binary)' \(role) 2>&1; echo \"exit=$?\"", timeout: .seconds(30))
        #expect(!output.contains("exit=0"), "\(role) started with \(key)=\(value): \(output)")
        #expect(output.contains(key), "the error does not name \(key): \(output)")
    }

    @Test("a placeholder or published secret stops every role, naming the key and not the value", arguments: [
        ("worker product", "AUTH_JWT_SECRET", "CHANGE-ME-placeholder-jwt-secret-at-least-32-bytes"),
        ("api", "AUTH_JWT_SECRET", "emporium-local-development-key-not-for-production"),
        ("api", "AUTH_ADMIN_PASSWORD", "emporium-admin"),
        ("relay", "POSTGRES_PRIMARY_URL", "postgresql://emporium:CHANGE-ME-db@127.0.0.1:5432/emporium"),
        ("migrate", "AMQP_URL", "amqp://emporium:change-me@127.0.0.1:5672"),
        ("worker mail", "SMTP_PASSWORD", "CHANGE-ME-smtp-password"),
        ("worker order", "REDIS_URL", "redis://:CHANGE-ME@127.0.0.1:6379"),
        ("seed", "POSTGRES_REPLICA_URL", "postgresql://emporium:CHANGE-ME@127.0.0.1:5433/emporium"),
    ])
    func placeholderSecretStopsTheRole(role: String, key: String, value: String) async throws {
        let output = try await ChildProcess.shell(
            "env \(key)='\(value)' '\(PipelineFleet.binary)' \(role) 2>&1; echo \"exit=$?\"", timeout: .seconds(30))
        #expect(!output.contains("exit=0"), "\(role) started with a placeholder \(key): \(output)")
        #expect(output.contains("configuration error: \(key):"), "the error does not name \(key): \(output)")
        #expect(!output.contains(value), "the error repeats the secret: \(output)")
    }

    @Test("a malformed connection URL stops the role without its password in the error", arguments: [
        ("migrate", "POSTGRES_PRIMARY_URL", "postgresql://emporium:s3cret-pg-pass@127.0.0.1:notaport/emporium"),
        ("relay", "POSTGRES_PRIMARY_URL", "mysql://emporium:s3cret-pg-pass@127.0.0.1/emporium"),
        ("relay", "AMQP_URL", "redis://:s3cret-amqp-pass@127.0.0.1:abc"),
        ("worker order", "REDIS_URL", "http://:s3cret-redis-pass@127.0.0.1:6379"),
    ])
    func malformedURLHidesItsPassword(role: String, key: String, value: String) async throws {
        let output = try await ChildProcess.shell(
            "env \(key)='\(value)' '\(PipelineFleet.binary)' \(role) 2>&1; echo \"exit=$?\"", timeout: .seconds(30))
        #expect(!output.contains("exit=0") && output.contains(key), "\(output)")
        #expect(!output.contains("s3cret"), "the error shows the password: \(output)")
    }
}

/// Settings given as files (`EMPORIUM_SECRETS_DIR`), laid out as Kubernetes mounts a Secret: each
/// key a symbolic link into a `..data` folder. `emporium config check` reads every setting as the
/// roles do, without connecting anywhere.
@Suite("Settings from secret files")
struct SecretFilesTests {
    /// A folder shaped like a Kubernetes secret volume holding `files`; removed by the caller.
    static func secretVolume(_ files: [String: String]) throws -> URL {
        let manager = FileManager.default
        let folder = manager.temporaryDirectory.appendingPathComponent("secrets-\(UUID())")
        let version = folder.appendingPathComponent("..2026_12_04_00_00_00.000000001")
        try manager.createDirectory(at: version, withIntermediateDirectories: true)
        try manager.createSymbolicLink(atPath: folder.appendingPathComponent("..data").path, withDestinationPath: version.lastPathComponent)
        for (name, value) in files {
            try value.write(to: version.appendingPathComponent(name), atomically: true, encoding: .utf8)
            try manager.createSymbolicLink(atPath: folder.appendingPathComponent(name).path, withDestinationPath: "..data/\(name)")
        }
        return folder
    }

    static func run(_ command: String, folder: URL, _ environment: [String: String] = [:]) async throws -> String {
        let assignments = environment.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        return try await ChildProcess.shell(
            "env -i PATH=\"$PATH\" EMPORIUM_SECRETS_DIR='\(folder.path)' \(assignments) '\(PipelineFleet.binary)' \(command) 2>&1; echo \"exit=$?\"",
            timeout: .seconds(30))
    }

    @Test("a key given as a linked file is read, and reported as coming from the file")
    func linkedFileIsRead() async throws {
        let folder = try Self.secretVolume(["AUTH_JWT_SECRET": "a-signing-key-of-well-over-thirty-two-bytes\n", "API_PORT": "8181\n"])
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = try await Self.run("config check --api", folder: folder)
        #expect(output.contains("exit=0") && output.contains("configuration ok"), "\(output)")
        #expect(output.contains("AUTH_JWT_SECRET\tfile in \(folder.path)") && output.contains("API_PORT\tfile in"), "\(output)")
        #expect(!output.contains("a-signing-key"), "the check printed a secret: \(output)")
        // Without the folder the API's key is missing: the file was what supplied it.
        let without = try await ChildProcess.shell(
            "env -i PATH=\"$PATH\" '\(PipelineFleet.binary)' config check --api 2>&1; echo \"exit=$?\"", timeout: .seconds(30))
        #expect(!without.contains("exit=0") && without.contains("AUTH_JWT_SECRET"), "\(without)")
    }

    @Test("a wrong secret in a file stops the role, naming the key and not the value", arguments: [
        ("config check --api", "AUTH_JWT_SECRET", "s3cret-too-short"),
        ("worker product", "AUTH_JWT_SECRET", "CHANGE-ME-placeholder-jwt-secret-at-least-32-bytes"),
        ("relay", "POSTGRES_PRIMARY_URL", "postgresql://emporium:CHANGE-ME-s3cret@127.0.0.1:5432/emporium"),
    ])
    func wrongSecretInAFile(command: String, key: String, value: String) async throws {
        let folder = try Self.secretVolume([key: value])
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = try await Self.run(command, folder: folder)
        #expect(!output.contains("exit=0") && output.contains("configuration error: \(key):"), "\(output)")
        #expect(!output.contains("s3cret") && !output.contains(value), "the error shows the secret: \(output)")
    }

    @Test("a key set both ways, a file named after no key, or a missing folder stops start-up")
    func ambiguousOrUnknownFiles() async throws {
        let folder = try Self.secretVolume(["AUTH_JWT_SECRET": "a-signing-key-of-well-over-thirty-two-bytes"])
        defer { try? FileManager.default.removeItem(at: folder) }
        let both = try await Self.run("config check", folder: folder, ["AUTH_JWT_SECRET": "another-key-of-well-over-thirty-two-bytes"])
        #expect(!both.contains("exit=0") && both.contains("configuration error: AUTH_JWT_SECRET: set both"), "\(both)")

        try "x".write(to: folder.appendingPathComponent("AUTH_JWT_SECRT"), atomically: true, encoding: .utf8)
        let misspelt = try await Self.run("config check", folder: folder)
        #expect(!misspelt.contains("exit=0") && misspelt.contains("EMPORIUM_SECRETS_DIR") && misspelt.contains("AUTH_JWT_SECRT"), "\(misspelt)")

        let missing = try await Self.run("config check", folder: folder.appendingPathComponent("nowhere"))
        #expect(!missing.contains("exit=0") && missing.contains("configuration error: EMPORIUM_SECRETS_DIR"), "\(missing)")
    }

    @Test("an error quotes a wrong value, except a secret's")
    func errorsQuoteOnlyWhatIsNotSecret() async throws {
        let folder = try Self.secretVolume([:])
        defer { try? FileManager.default.removeItem(at: folder) }
        let port = try await Self.run("config check", folder: folder, ["API_PORT": "99999"])
        #expect(port.contains("configuration error: API_PORT: expected an integer in 0...65535, got \"99999\""), "\(port)")
        let smtp = try await Self.run("config check", folder: folder, ["SMTP_PASSWORD": "CHANGE-ME-s3cret"])
        #expect(smtp.contains("configuration error: SMTP_PASSWORD:") && !smtp.contains("s3cret"), "\(smtp)")
    }
}
