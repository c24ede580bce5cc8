import EmporiumTestSupport
import Foundation
import Redis
import Testing

@Suite("Redis commands", .timeLimit(.minutes(1)))
struct CommandTests {
    let redis: RedisPool
    let prefix = TestRedis.prefix()

    init() throws {
        redis = try TestRedis.makePool()
    }

    @Test("GET, SET, DEL and binary-safe values")
    func getSetDelete() async throws {
        let key = prefix + "plain"
        #expect(try await redis.get(key) == nil)
        #expect(try await redis.set(key, to: "Grüße 🚀"))
        #expect(try await redis.getString(key) == "Grüße 🚀")
        let binary: [UInt8] = [0, 1, 2, 255, 0, 13, 10]
        #expect(try await redis.set(key, to: RedisArgument(binary)))
        #expect(try await redis.get(key) == binary)
        #expect(try await redis.delete(key, prefix + "missing") == 1)
        #expect(try await redis.get(key) == nil)
    }

    @Test("SET NX writes only an absent key, XX only a present one")
    func conditionalSet() async throws {
        let key = prefix + "conditional"
        #expect(try await redis.set(key, to: "first", condition: .ifExists) == false)
        #expect(try await redis.get(key) == nil)
        #expect(try await redis.set(key, to: "first", condition: .ifNotExists))
        #expect(try await redis.set(key, to: "second", condition: .ifNotExists) == false)
        #expect(try await redis.getString(key) == "first")
        #expect(try await redis.set(key, to: "third", condition: .ifExists))
        #expect(try await redis.getString(key) == "third")
    }

    @Test("PX, EX, EXPIRE and PTTL")
    func expiry() async throws {
        let key = prefix + "expiring"
        #expect(try await redis.pttl(key) == -2)
        try await redis.set(key, to: "v")
        #expect(try await redis.pttl(key) == -1)
        try await redis.set(key, to: "v", expiration: .milliseconds(60_000))
        let px = try await redis.pttl(key)
        #expect(px > 50_000 && px <= 60_000)
        try await redis.set(key, to: "v", condition: .ifExists, expiration: .seconds(100))
        let ex = try await redis.pttl(key)
        #expect(ex > 90_000 && ex <= 100_000)
        #expect(try await redis.expire(key, after: .seconds(300)))
        #expect(try await redis.pttl(key) > 290_000)
        #expect(try await redis.expire(key, after: .milliseconds(1500)))
        #expect(try await redis.pttl(key) <= 1500)
        #expect(try await redis.expire(prefix + "missing", after: .seconds(1)) == false)
        try await redis.set(key, to: "v", expiration: .milliseconds(30))
        #expect(try await eventually { try await redis.get(key) == nil })
    }

    @Test("INCR and INCRBY; a wrong type is a server error")
    func increment() async throws {
        let key = prefix + "counter"
        #expect(try await redis.increment(key) == 1)
        #expect(try await redis.increment(key) == 2)
        #expect(try await redis.increment(key, by: 40) == 42)
        try await redis.set(prefix + "text", to: "not a number")
        let error = try await #require(throws: RedisError.self) { try await redis.increment(prefix + "text") }
        #expect(error.code == .server)
        #expect(error.serverErrorPrefix == "ERR")
        #expect(!error.isRetriable)
    }

    @Test("EVAL, and EVALSHA with the digest cached and reloaded after SCRIPT FLUSH")
    func scripts() async throws {
        let key = prefix + "scripted"
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        #expect(try await redis.eval(script.source, keys: [RedisArgument(key)], arguments: [5]) == .integer(5))
        #expect(try await redis.evaluate(script, keys: [RedisArgument(key)], arguments: [2]) == .integer(7))
        let digest = try await redis.load(script)
        #expect(try await redis.evaluate(digest: digest, keys: [RedisArgument(key)], arguments: [1]) == .integer(8))
        // A server that forgot the script (restart, flush) gets it again transparently.
        try await redis.command(["SCRIPT", "FLUSH"])
        #expect(try await redis.evaluate(script, keys: [RedisArgument(key)], arguments: [2]) == .integer(10))
        let unknown = try await #require(throws: RedisError.self) {
            try await redis.evaluate(digest: String(repeating: "0", count: 40))
        }
        #expect(unknown.serverErrorPrefix == "NOSCRIPT")
    }

    @Test("a pipeline sends many commands in one round trip, error replies in place")
    func pipeline() async throws {
        let key = prefix + "pipelined"
        var commands: [[RedisArgument]] = (0..<100).map { _ in ["INCR", RedisArgument(key)] }
        commands.append(["HGET", RedisArgument(key), "field"])
        let replies = try await redis.pipeline(commands)
        #expect(replies.prefix(100) == ArraySlice((1...100).map { RedisValue.integer($0) }))
        guard case .error(let message) = replies[100] else {
            Issue.record("expected an error reply, got \(replies[100])")
            return
        }
        #expect(message.hasPrefix("WRONGTYPE"))
        #expect(try await redis.getString(key) == "100")
    }

    @Test("a closed port and a wrong password fail with the server's address, promptly")
    func badConnections() async throws {
        var closedPort = try TestRedis.configuration
        closedPort.port = 1
        let started = ContinuousClock.now
        let refused = try await #require(throws: RedisError.self) {
            try await RedisPool(configuration: closedPort, logger: .init(label: "test")).command(["PING"])
        }
        // The bound is for a hang or a retry loop, with margin for a machine busy with the suite.
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(refused.code == .connectionFailed)
        #expect(refused.message.contains("127.0.0.1:1"))
        #expect(refused.isRetriable)

        var wrongPassword = try TestRedis.configuration
        wrongPassword.password = "wrong"
        let denied = try await #require(throws: RedisError.self) {
            try await RedisPool(configuration: wrongPassword, logger: .init(label: "test")).command(["PING"])
        }
        #expect(denied.code == .connectionFailed)
        #expect(denied.message.contains(wrongPassword.address))

        let malformed = try #require(throws: RedisError.self) { try RedisConfiguration(url: "redis://localhost/x", key: "REDIS_URL") }
        #expect(malformed.message.hasPrefix("REDIS_URL:"))
    }
}

extension CommandTests {
    @Test("a connection left inside MULTI is not handed to the next user")
    func sessionStateNotInherited() async throws {
        let redis = try TestRedis.makePool(maximumConnections: 1)
        let key = prefix + "multi"
        try await redis.command(["MULTI"])
        // Same single-connection pool: a reused connection would answer QUEUED here.
        #expect(try await redis.set(key, to: "v", condition: .ifNotExists))
        #expect(try await redis.getString(key) == "v")
    }
}
