import ConnectionPool
import Foundation
import Logging
@testable import Redis
import Testing

/// Redis over TLS (`rediss://`) against the local Redis's TLS port, whose certificate comes from
/// the checkout's own CA (deploy/local/services.sh).
@Suite("Redis over TLS", .timeLimit(.minutes(1)))
struct RedisTLSTests {
    static var url: String {
        get throws {
            try #require(ProcessInfo.processInfo.environment["REDIS_TLS_URL"], "REDIS_TLS_URL is not set: eval \"$(bash deploy/local/services.sh env)\"")
        }
    }

    func pool(_ url: String) throws -> RedisPool {
        RedisPool(configuration: try RedisConfiguration(url: url, key: "REDIS_URL"), logger: Logger(label: "emporium.tests.redis"))
    }

    /// The port takes TLS only (a plain client is refused: plainToTLSPortFails), so an answer at
    /// all means the connection is TLS.
    @Test("rediss:// with the CA that signed the server's certificate: commands, pipelines and large values go over TLS")
    func commandsOverTLS() async throws {
        let redis = try pool(try Self.url)
        let key = TestRedis.prefix() + "tls"
        #expect(try await redis.command(["PING"]) == .simpleString("PONG"))
        // Larger than a TLS record (16 KiB) and than one read: the reply arrives in pieces.
        let large = String(repeating: "0123456789abcdef", count: 20_000)
        try await redis.command(["SET", RedisArgument(key), RedisArgument(large), "PX", "60000"])
        #expect(try await redis.getString(key) == large)
        let replies = try await redis.pipeline((0..<100).map { _ in ["INCR", RedisArgument(key + ":n")] })
        #expect(replies.last == .integer(100))
        try await redis.command(["DEL", RedisArgument(key), RedisArgument(key + ":n")])
    }

    @Test("a server whose certificate the configured CAs do not vouch for is refused, naming the server and the reason")
    func untrustedServerRefused() async throws {
        // Without cacertfile the system's CAs are used, which know nothing of the local CA.
        let url = try Self.url.components(separatedBy: "?")[0]
        let error = try await #require(throws: RedisError.self) { try await pool(url).command(["PING"]) }
        #expect(error.code == .connectionFailed)
        #expect(error.message.contains("127.0.0.1:6380"), "\(error.message)")
        #expect(error.message.contains("certificate"), "\(error.message)")
        // verify_none takes any certificate: for a test bench only, but it does connect.
        #expect(try await pool(url + "?verify=verify_none").command(["PING"]) == .simpleString("PONG"))
    }

    @Test("plain redis:// to the TLS port fails promptly instead of hanging")
    func plainToTLSPortFails() async throws {
        var configuration = try RedisConfiguration(url: try Self.url.replacingOccurrences(of: "rediss://", with: "redis://").components(separatedBy: "?")[0])
        configuration.connectTimeout = .seconds(2)
        configuration.commandTimeout = .seconds(2)
        let started = ContinuousClock.now
        await #expect(throws: RedisError.self) {
            try await RedisPool(configuration: configuration, logger: Logger(label: "emporium.tests.redis")).command(["PING"])
        }
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test("TLS settings that cannot work stop start-up, naming the key")
    func badSettings() throws {
        let cases: [(String, String)] = [
            ("redis://127.0.0.1:6379?cacertfile=/etc/hostname", "TLS needs the rediss:// scheme"),
            ("rediss://127.0.0.1:6380?cacertfile=/no/such/ca.pem", "cacertfile \"/no/such/ca.pem\" is not a readable file"),
            ("rediss://127.0.0.1:6380?verify=maybe", "verify must be verify_peer or verify_none"),
            ("rediss://127.0.0.1:6380?certfile=/etc/hostname", "certfile and keyfile go together"),
            ("rediss://127.0.0.1:6380?sslmode=require", "unknown or invalid option \"sslmode\""),
        ]
        for (url, expected) in cases {
            let error = try #require(throws: RedisError.self) { try RedisConfiguration(url: url, key: "REDIS_URL") }
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.hasPrefix("REDIS_URL: ") && error.message.contains(expected), "\(url): \(error.message)")
        }
        let parsed = try RedisConfiguration(url: "rediss://127.0.0.1?cacertfile=/etc/hostname&verify=verify_none&pool_size=3")
        #expect(parsed.tls == TLSSettings(caFile: "/etc/hostname", verifyPeer: false))
        #expect(parsed.port == 6379 && parsed.maximumConnections == 3)
        #expect(try RedisConfiguration(url: "redis://127.0.0.1").tls == nil)
    }
}
