@testable import Auth
import Foundation
import HTTPRuntime
import Testing

/// The access tokens' verification and the process's memory of the tokens it verified: a
/// remembered token skips the signature and claims, never the times.
@Suite("Access tokens")
struct AccessTokenTests {
    static let secret = Array("0123456789abcdef0123456789abcdef-tokens".utf8)
    static let settings = AccessTokens.Settings(secret: secret, issuer: "emporium", audience: "emporium-api")

    func refusal(_ tokens: AccessTokens, _ token: String, at now: Date) async -> String? {
        do {
            _ = try await tokens.caller(fromBearer: token, now: now)
            return nil
        } catch {
            return error.detail ?? error.title
        }
    }

    @Test("a verified token is remembered, and each later use still checks its times")
    func rememberedStillExpires() async throws {
        let tokens = await AccessTokens(settings: Self.settings)
        let now = Date()
        let token = try await tokens.issue(subject: "customer-1", role: "customer", now: now).token
        #expect(try await tokens.caller(fromBearer: token, now: now) == Caller(id: "customer-1", role: .customer))
        #expect(tokens.verified.count == 1)
        #expect(try await tokens.caller(fromBearer: token, now: now.addingTimeInterval(60)) == Caller(id: "customer-1", role: .customer))
        #expect(tokens.verified.count == 1)
        let lifetime = Self.settings.lifetime.timeInterval, leeway = Self.settings.leeway.timeInterval
        #expect(await refusal(tokens, token, at: now.addingTimeInterval(lifetime + leeway + 1))?.contains("expired") == true)
        #expect(await refusal(tokens, token, at: now.addingTimeInterval(-leeway - 1))?.contains("not valid yet") == true)
    }

    @Test("any other text is checked in full: one changed byte of a remembered token gets 401")
    func otherTextCheckedInFull() async throws {
        let tokens = await AccessTokens(settings: Self.settings)
        let now = Date()
        let token = try await tokens.issue(subject: "customer-2", role: "customer", now: now).token
        _ = try await tokens.caller(fromBearer: token, now: now)
        var signature = Array(token.split(separator: ".")[2].utf8)
        signature[0] = signature[0] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let forged = token.split(separator: ".")[0...1].joined(separator: ".") + "." + String(decoding: signature, as: UTF8.self)
        #expect(await refusal(tokens, forged, at: now)?.contains("signature") == true)
        #expect(tokens.verified.count == 1)
    }

    @Test("a token refused for its issuer, audience or role is not remembered")
    func refusedNotRemembered() async throws {
        let tokens = await AccessTokens(settings: Self.settings)
        let now = Date()
        var foreign = Self.settings
        foreign.issuer = "someone-else"
        let other = try await AccessTokens(settings: foreign).issue(subject: "customer-3", role: "customer", now: now).token
        var elsewhere = Self.settings
        elsewhere.audience = "another-api"
        let otherAudience = try await AccessTokens(settings: elsewhere).issue(subject: "customer-3", role: "customer", now: now).token
        let unknownRole = try await tokens.issue(subject: "customer-3", role: "superuser", now: now).token
        for _ in 0..<2 {
            #expect(await refusal(tokens, other, at: now)?.contains("issued by someone else") == true)
            #expect(await refusal(tokens, otherAudience, at: now)?.contains("another audience") == true)
            #expect(await refusal(tokens, unknownRole, at: now)?.contains("unknown role") == true)
        }
        #expect(tokens.verified.count == 0)
    }

    @Test("the memory is bounded: when full, expired tokens go, else all; every token still verifies")
    func bounded() async throws {
        let tokens = await AccessTokens(settings: Self.settings, remembered: 2)
        let now = Date()
        let old = try await tokens.issue(subject: "old", role: "customer", now: now.addingTimeInterval(-3_600)).token
        _ = try await tokens.caller(fromBearer: old, now: now.addingTimeInterval(-3_600))
        let first = try await tokens.issue(subject: "first", role: "customer", now: now).token
        _ = try await tokens.caller(fromBearer: first, now: now)
        #expect(tokens.verified.count == 2)
        // Full: the expired token goes, the valid one stays.
        let second = try await tokens.issue(subject: "second", role: "admin", now: now).token
        _ = try await tokens.caller(fromBearer: second, now: now)
        #expect(tokens.verified.count == 2 && tokens.verified[old] == nil && tokens.verified[first] != nil)
        // Full of valid tokens: all go, the new one is kept.
        let third = try await tokens.issue(subject: "third", role: "customer", now: now).token
        #expect(try await tokens.caller(fromBearer: third, now: now).id == "third")
        #expect(tokens.verified.count == 1 && tokens.verified[third] != nil)
        #expect(try await tokens.caller(fromBearer: first, now: now).id == "first")
        #expect(try await tokens.caller(fromBearer: second, now: now) == Caller(id: "second", role: .admin))
    }
}
