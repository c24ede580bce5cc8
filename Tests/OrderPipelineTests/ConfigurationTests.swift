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
