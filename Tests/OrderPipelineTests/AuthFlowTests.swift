import Auth
import DomainKit
import EmporiumTestSupport
import Foundation
import Postgres
import Testing

/// Sign-up to logout against the fleet: codes read from the mails the SMTP catcher received.
@Suite("Accounts and tokens", .usesRabbitMQ, .timeLimit(.minutes(10)))
struct AuthFlowTests {
    struct Tokens: Decodable {
        var accessToken: String
        var refreshToken: String
        var expiresIn: Int
    }

    @Test("sign-up, verification by mail, login, refresh, reuse revokes the family, logout")
    func signUpToLogout() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let api = fleet.api
        let email = fleet.newAddress()
        let correlation = "signup-\(UUID().uuidString.lowercased())"
        let traceID = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let registered = try await api.send(
            "POST", "/auth/register", headers: ["X-Correlation-Id": correlation, "traceparent": "00-\(traceID)-00f067aa0ba902b7-01"],
            body: ["email": email, "password": Self.password])
        #expect(registered.status == 202, "\(registered.text)")
        #expect(registered.json["id"] == nil && registered.json["email"] as? String == email)
        let accountID = try await fleet.accountID(of: email)

        // The registration's events and the mail command it caused carry the request's correlation id.
        let caused = try await fleet.outboxTypes(correlationID: correlation, atLeast: 2)
        #expect(caused.contains("user.registered") && caused.contains("mail.send"), "\(caused)")
        // ... and the client's trace: the same trace id at every hop, a new span each time.
        #expect(registered.header("traceparent")?.contains(traceID) == true)
        let traces: [String] = try await fleet.database.query(
            "SELECT traceparent FROM messaging.outbox WHERE correlation_id = \(correlation)").map { try $0.decode("traceparent") }
        #expect(!traces.isEmpty && traces.allSatisfy { $0.hasPrefix("00-\(traceID)-") }, "\(traces)")
        #expect(Set(traces.map { $0.split(separator: "-")[2] }).count == traces.count, "a span id repeats: \(traces)")
        #expect(!traces.contains { $0.contains("00f067aa0ba902b7") }, "the client's own span was reused")

        let early = try await api.send("POST", "/auth/login", body: ["email": email, "password": Self.password])
        #expect(early.status == 403, "login before verification: \(early.text)")
        let code = try await fleet.verificationCode(for: email)

        let verified = try await api.send("POST", "/auth/verify", body: ["email": email, "code": code])
        #expect(verified.status == 200, "\(verified.text)")
        #expect(verified.json["verified"] as? Bool == true)

        let login = try await api.send("POST", "/auth/login", body: ["email": email, "password": Self.password])
        #expect(login.status == 200, "\(login.text)")
        let first = try login.decode(Tokens.self)
        let me = try await api.send("GET", "/me", as: .bearer(first.accessToken))
        #expect(me.status == 200 && me.json["email"] as? String == email && me.json["id"] as? String == accountID, "\(me.text)")

        let refreshed = try await api.send("POST", "/auth/refresh", body: ["refreshToken": first.refreshToken])
        #expect(refreshed.status == 200, "\(refreshed.text)")
        let second = try refreshed.decode(Tokens.self)
        #expect(second.refreshToken != first.refreshToken)
        #expect(try await api.send("GET", "/me", as: .bearer(second.accessToken)).status == 200)

        // The spent token shown again: refused, and its successor is revoked with it.
        let reuse = try await api.send("POST", "/auth/refresh", body: ["refreshToken": first.refreshToken])
        #expect(reuse.status == 401, "\(reuse.text)")
        let successor = try await api.send("POST", "/auth/refresh", body: ["refreshToken": second.refreshToken])
        #expect(successor.status == 401, "the family was not revoked: \(successor.text)")

        let again = try await api.send("POST", "/auth/login", body: ["email": email, "password": Self.password]).decode(Tokens.self)
        #expect(try await api.send("POST", "/auth/logout", body: ["refreshToken": again.refreshToken]).status == 204)
        #expect(try await api.send("POST", "/auth/refresh", body: ["refreshToken": again.refreshToken]).status == 401)
    }

    @Test("a resend inside the cooldown gets 429 with Retry-After")
    func resendCooldown() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let email = fleet.newAddress()
        #expect(try await fleet.api.send("POST", "/auth/register", body: ["email": email, "password": Self.password]).status == 202)
        let resend = try await fleet.api.send("POST", "/auth/resend", body: ["email": email])
        #expect(resend.status == 429, "\(resend.text)")
        let retryAfter = try #require(resend.header("Retry-After").flatMap(Int.init))
        #expect((1...60).contains(retryAfter))
        #expect(resend.header("Content-Type") == "application/problem+json")
        // Another address has its own cooldown, registered or not: the answer does not tell.
        #expect(try await fleet.api.send("POST", "/auth/resend", body: ["email": fleet.newAddress()]).status == 202)
    }

    @Test("an expired code is refused, and the delayed expiry deletes it")
    func expiredCode() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let email = fleet.newAddress()
        let accountID = try #require(UUID(uuidString: try await fleet.register(email)))
        let code = try await fleet.verificationCode(for: email)
        let gone = try await eventually(timeout: PipelineFleet.codeLifetime + .seconds(30), every: .milliseconds(250)) {
            try await fleet.database.query("SELECT 1 FROM auth.verification_codes WHERE account_id = \(accountID)").isEmpty
        }
        #expect(gone, "the code-expiry message never deleted the code")
        let late = try await fleet.api.send("POST", "/auth/verify", body: ["email": email, "code": code])
        #expect(late.status == 400 && late.json["detail"] as? String == AuthRules.codeRefused.message, "\(late.text)")
    }

    @Test("five wrong codes void the code")
    func wrongCodes() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let email = fleet.newAddress()
        #expect(try await fleet.api.send("POST", "/auth/register", body: ["email": email, "password": Self.password]).status == 202)
        let code = try await fleet.verificationCode(for: email)
        let wrong = String(format: "%06d", (Int(code)! + 1) % 1_000_000)
        for left in (0..<5).reversed() {
            let reply = try await fleet.api.send("POST", "/auth/verify", body: ["email": email, "code": wrong])
            #expect(reply.status == 400 && reply.json["detail"] as? String == AuthRules.codeRefused.message, "\(left) left: \(reply.text)")
        }
        let right = try await fleet.api.send("POST", "/auth/verify", body: ["email": email, "code": code])
        #expect(right.status == 400, "the right code after five wrong ones: \(right.text)")
        #expect(try await fleet.count("SELECT count(*) FROM auth.accounts WHERE email = \(email) AND verified_at IS NULL") == 1)
    }

    @Test("failed logins are throttled per account and client; unknown addresses get the same answer")
    func loginThrottle() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let email = fleet.newAddress()
        #expect(try await fleet.api.send("POST", "/auth/register", body: ["email": email, "password": Self.password]).status == 202)
        let unknown = try await fleet.api.send("POST", "/auth/login", body: ["email": fleet.newAddress(), "password": "wrong-password"])
        let known = try await fleet.api.send("POST", "/auth/login", body: ["email": email, "password": "wrong-password"])
        #expect(unknown.status == 401 && known.status == 401)
        #expect(unknown.json["detail"] as? String == known.json["detail"] as? String)
        for _ in 0..<4 {
            #expect(try await fleet.api.send("POST", "/auth/login", body: ["email": email, "password": "wrong-password"]).status == 401)
        }
        let throttled = try await fleet.api.send("POST", "/auth/login", body: ["email": email, "password": Self.password])
        #expect(throttled.status == 429, "\(throttled.text)")
        #expect(throttled.header("Retry-After").flatMap(Int.init) != nil)
    }

    /// An API that believes `X-Forwarded-For` from this host, so a test can speak as many clients,
    /// with login counters of its own.
    func apiBehindProxy(
        _ fleet: PipelineFleet, _ name: String, environment: [String: String] = [:]
    ) async throws -> (APIClient, @Sendable () async throws -> Void) {
        let api = try await fleet.spawnAPI(name, environment: [
            "API_TRUSTED_PROXIES": "127.0.0.0/8, ::1", "MESSAGING_NAMESPACE": "\(fleet.id)-\(name)",
            "AUTH_LOGIN_MAX_FAILURES_CLIENT": "20",
        ].merging(environment) { $1 }).api
        #expect(try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
            (try? await api.send("GET", "/health/live").status) == 200
        })
        return (api, { try await fleet.stop(name) })
    }

    @Test("registration and verification answer the same whether an address is free, waiting for its code or verified")
    func noEnumeration() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let api = fleet.api
        func register(_ email: String) async throws -> APIClient.Reply {
            try await api.send("POST", "/auth/register", body: ["email": email, "password": "another-password-1"])
        }
        let verified = try await verifiedAccount(fleet)
        let waiting = fleet.newAddress()
        #expect(try await register(waiting).status == 202)
        _ = try await fleet.verificationCode(for: waiting)
        let free = fleet.newAddress()

        var answers: [APIClient.Reply] = []
        for email in [free, waiting, verified] { answers.append(try await register(email)) }
        #expect(answers.map(\.status) == [202, 202, 202], "\(answers.map(\.text))")
        #expect(Set(answers.map { $0.text.replacingOccurrences(of: $0.json["email"] as? String ?? "", with: "") }).count == 1,
                "the bodies differ beyond the address: \(answers.map(\.text))")
        // A wrong code, while the waiting address's code is valid: the same answer for an unknown
        // address, one waiting for its code, and a verified one.
        var refusals: [APIClient.Reply] = []
        for email in [fleet.newAddress(), waiting, verified] {
            refusals.append(try await api.send("POST", "/auth/verify", body: ["email": email, "code": "000000"]))
        }
        #expect(refusals.map(\.status) == [400, 400, 400], "\(refusals.map(\.text))")
        #expect(Set(refusals.map { $0.json["detail"] as? String ?? "" }).count == 1 && refusals.allSatisfy { $0.json["triesLeft"] == nil },
                "\(refusals.map(\.text))")
        // The verified account's owner hears of it by mail; the account is as it was.
        let told = try await eventually(timeout: .seconds(45), every: .milliseconds(200)) {
            fleet.smtp.mails(to: verified).contains { $0.template == "account_exists" }
        }
        #expect(told, "no account_exists mail to \(verified)")
        #expect(try await fleet.count("SELECT count(*) FROM auth.accounts WHERE email = \(verified) AND verified_at IS NOT NULL") == 1)
        let login = try await api.send("POST", "/auth/login", body: ["email": verified, "password": Self.password])
        #expect(login.status == 200, "the old password no longer works: \(login.text)")
    }

    func login(_ api: APIClient, _ email: String, _ password: String = AuthFlowTests.password) async throws -> APIClient.Reply {
        try await api.send("POST", "/auth/login", body: ["email": email, "password": password])
    }

    func refresh(_ api: APIClient, _ token: String) async throws -> Int {
        try await api.send("POST", "/auth/refresh", body: ["refreshToken": token]).status
    }

    func mailArrives(_ fleet: PipelineFleet, to email: String, template: String) async throws -> Bool {
        try await eventually(timeout: .seconds(45), every: .milliseconds(200)) { fleet.smtp.mails(to: email).contains { $0.template == template } }
    }

    @Test("a password change needs the current password, ends every session but the new one, and mails the owner")
    func passwordChange() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let api = fleet.api
        let email = try await verifiedAccount(fleet)
        let first = try await login(api, email).decode(Tokens.self)
        let elsewhere = try await login(api, email).decode(Tokens.self)
        let newPassword = "a-new-password-\(UUID().uuidString.prefix(6))"
        let wrong = try await api.send(
            "POST", "/me/password", as: .bearer(first.accessToken), body: ["currentPassword": "wrong-password", "newPassword": newPassword])
        #expect(wrong.status == 403, "\(wrong.status) \(wrong.text)")
        #expect(try await api.send("POST", "/me/password", body: ["currentPassword": Self.password, "newPassword": newPassword]).status == 401)
        let changed = try await api.send(
            "POST", "/me/password", as: .bearer(first.accessToken), body: ["currentPassword": Self.password, "newPassword": newPassword])
        #expect(changed.status == 200, "\(changed.status) \(changed.text)")
        let pair = try changed.decode(Tokens.self)
        #expect(try await refresh(api, first.refreshToken) == 401)
        #expect(try await refresh(api, elsewhere.refreshToken) == 401)
        #expect(try await refresh(api, pair.refreshToken) == 200)
        #expect(try await login(api, email).status == 401)
        #expect(try await login(api, email, newPassword).status == 200)
        #expect(try await mailArrives(fleet, to: email, template: "password_changed"))
    }

    @Test("a password reset by mailed code sets a new password and ends every session; any address gets the same answer")
    func passwordReset() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let api = fleet.api
        let email = try await verifiedAccount(fleet)
        let session = try await login(api, email).decode(Tokens.self)
        #expect(try await api.send("POST", "/auth/password-reset", body: ["email": email]).status == 202)
        #expect(try await api.send("POST", "/auth/password-reset", body: ["email": fleet.newAddress()]).status == 202)
        let code = try await fleet.verificationCode(for: email, template: "password_reset")
        let mail = try #require(fleet.smtp.mails(to: email).last { $0.template == "password_reset" })
        #expect(mail.headers["subject"]?.contains(code) == false)
        let newPassword = "a-reset-password-\(UUID().uuidString.prefix(6))"
        let wrong = String(format: "%06d", (Int(code)! + 1) % 1_000_000)
        let refused = try await api.send("POST", "/auth/password-reset/confirm", body: ["email": email, "code": wrong, "newPassword": newPassword])
        #expect(refused.status == 400 && refused.json["detail"] as? String == AuthRules.codeRefused.message, "\(refused.text)")
        let reset = try await api.send("POST", "/auth/password-reset/confirm", body: ["email": email, "code": code, "newPassword": newPassword])
        #expect(reset.status == 204, "\(reset.status) \(reset.text)")
        // The code is spent; the old session is over; the new password works.
        #expect(try await api.send("POST", "/auth/password-reset/confirm", body: ["email": email, "code": code, "newPassword": "yet-another-one-1"]).status == 400)
        #expect(try await refresh(api, session.refreshToken) == 401)
        #expect(try await login(api, email).status == 401)
        #expect(try await login(api, email, newPassword).status == 200)
        #expect(try await mailArrives(fleet, to: email, template: "password_changed"))
    }

    @Test("deleting an account needs its password; the account and its sessions go, its orders stay, its address is forgotten")
    func accountDeletion() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let api = fleet.api
        let email = try await verifiedAccount(fleet)
        let id = try await fleet.accountID(of: email)
        let session = try await login(api, email).decode(Tokens.self)
        let sku = fleet.uniqueSKU("GONE")
        try await fleet.createProduct(sku, stock: 5)
        _ = try await fleet.placeOrder(id, [(sku, 1)])
        let recipientKnown = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
            try await fleet.count("SELECT count(*) FROM mailing.recipients WHERE customer_id = \(id)") == 1
        }
        #expect(recipientKnown)

        #expect(try await api.send("DELETE", "/me", as: .bearer(session.accessToken), body: ["password": "wrong-password"]).status == 403)
        let deleted = try await api.send("DELETE", "/me", as: .bearer(session.accessToken), body: ["password": Self.password])
        #expect(deleted.status == 204, "\(deleted.status) \(deleted.text)")
        #expect(try await fleet.count("SELECT count(*) FROM auth.accounts WHERE email = \(email)") == 0)
        #expect(try await login(api, email).status == 401)
        #expect(try await refresh(api, session.refreshToken) == 401)
        #expect(try await fleet.count("SELECT count(*) FROM ordering.orders WHERE customer_id = \(id)") == 1)
        #expect(try await mailArrives(fleet, to: email, template: "account_deleted"))
        let forgotten = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
            try await fleet.count("SELECT count(*) FROM mailing.recipients WHERE customer_id = \(id)") == 0
        }
        #expect(forgotten, "the mail worker still has the address")
    }

    @Test("two refreshes at once with one token from its own client both get a pair and the session lives on; another client's reuse revokes it")
    func refreshRace() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let email = try await verifiedAccount(fleet)
        let (api, stop) = try await apiBehindProxy(fleet, "api-refresh", environment: ["AUTH_REFRESH_REUSE_GRACE": "30s"])
        defer { Task { try? await stop() } }
        let (owner, thief) = ("198.51.100.\(Int.random(in: 1...250))", "203.0.113.\(Int.random(in: 1...250))")
        func refresh(_ token: String, from client: String) async throws -> APIClient.Reply {
            try await api.send("POST", "/auth/refresh", headers: ["X-Forwarded-For": client], body: ["refreshToken": token])
        }
        let login = try await api.send("POST", "/auth/login", headers: ["X-Forwarded-For": owner], body: ["email": email, "password": Self.password])
        let first = try login.decode(Tokens.self)
        // Two tabs refreshing at once (or a retry after a lost answer).
        async let one = refresh(first.refreshToken, from: owner)
        async let two = refresh(first.refreshToken, from: owner)
        let (a, b) = try await (one, two)
        #expect(a.status == 200 && b.status == 200, "\(a.status) \(a.text) / \(b.status) \(b.text)")
        let (next, other) = (try a.decode(Tokens.self), try b.decode(Tokens.self))
        #expect(next.refreshToken != other.refreshToken)
        let kept = try await refresh(next.refreshToken, from: owner)
        #expect(kept.status == 200, "the race revoked the session: \(kept.text)")
        // The first token replayed from elsewhere: stolen. The whole session ends.
        #expect(try await refresh(first.refreshToken, from: thief).status == 401)
        #expect(try await refresh(other.refreshToken, from: owner).status == 401)
        #expect(try await refresh(try kept.decode(Tokens.self).refreshToken, from: owner).status == 401)
    }

    @Test("a session ends at its absolute lifetime, however often it is refreshed")
    func sessionLifetime() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let email = try await verifiedAccount(fleet)
        let (api, stop) = try await apiBehindProxy(fleet, "api-session", environment: ["AUTH_SESSION_MAX_LIFETIME": "20s"])
        defer { Task { try? await stop() } }
        let login = try await api.send("POST", "/auth/login", body: ["email": email, "password": Self.password])
        // 20 s, not less: the first refresh must come before the session ends (with 3 s, a loaded
        // machine's login and first refresh could take it all).
        #expect((login.json["refreshExpiresIn"] as? Int ?? .max) <= 20, "\(login.text)")
        var token = try login.decode(Tokens.self).refreshToken
        var refreshes = 0
        var refusal: APIClient.Reply?
        let ended = try await eventually(timeout: .seconds(60), every: .milliseconds(250)) {
            let reply = try await api.send("POST", "/auth/refresh", body: ["refreshToken": token])
            guard reply.status == 200 else {
                refusal = reply
                return true
            }
            token = try reply.decode(Tokens.self).refreshToken
            refreshes += 1
            return false
        }
        #expect(ended, "still refreshing after \(refreshes) refreshes")
        #expect(refusal?.status == 401 && (refusal?.json["detail"] as? String)?.contains("session") == true, "\(refusal?.text ?? "")")
        #expect(refreshes >= 1)
    }

    /// The least Retry-After (whole seconds, rounded up, at least 1) a wait of `wait` can still
    /// have now, when the server started it after `start`.
    static func leastRetryAfter(of wait: Duration, startedAfter start: ContinuousClock.Instant) -> Int {
        max(1, Int((wait - (ContinuousClock.now - start)).timeInterval.rounded(.up)))
    }

    func verifiedAccount(_ fleet: PipelineFleet) async throws -> String {
        let email = fleet.newAddress()
        #expect(try await fleet.api.send("POST", "/auth/register", body: ["email": email, "password": Self.password]).status == 202)
        let code = try await fleet.verificationCode(for: email)
        #expect(try await fleet.api.send("POST", "/auth/verify", body: ["email": email, "code": code]).status == 200)
        return email
    }

    @Test("one client's wrong passwords never keep the owner out: that client gets 429 for the account, the owner logs in from elsewhere")
    func guessingLocksOutOnlyTheGuesser() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let email = try await verifiedAccount(fleet)
        let (api, stop) = try await apiBehindProxy(fleet, "api-lockout")
        func login(from client: String, _ password: String) async throws -> Int {
            try await api.send("POST", "/auth/login", headers: ["X-Forwarded-For": client], body: ["email": email, "password": password]).status
        }
        let (guesser, owner) = ("203.0.113.\(Int.random(in: 1...250))", "198.51.100.\(Int.random(in: 1...250))")
        var statuses: [Int] = []
        for _ in 0..<6 { statuses.append(try await login(from: guesser, "wrong-password")) }
        #expect(statuses == [401, 401, 401, 401, 401, 429], "\(statuses)")
        #expect(try await login(from: guesser, Self.password) == 429, "the guesser stays limited, even with the right password")
        #expect(try await login(from: owner, Self.password) == 200, "the owner is not locked out")
        try await stop()
    }

    @Test("wrong passwords from many clients slow the account down after ten, and never lock it")
    func distributedGuessingOnlySlowsDown() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let email = try await verifiedAccount(fleet)
        // The first wait is 10 s here, not the default 1 s: on a loaded machine the owner's attempt
        // came over a second after the tenth failure, when a 1 s wait had already ended.
        let (api, stop) = try await apiBehindProxy(fleet, "api-backoff", environment: ["AUTH_LOGIN_BACKOFF": "10s"])
        func login(from client: String, _ password: String) async throws -> APIClient.Reply {
            try await api.send("POST", "/auth/login", headers: ["X-Forwarded-For": client], body: ["email": email, "password": password])
        }
        for index in 1...9 { #expect(try await login(from: "192.0.2.\(index)", "wrong-password").status == 401) }
        // The tenth failure starts a wait for every client, the owner's too: 10 s from the failure,
        // which the server recorded after `tenth`, so at least 10 s - elapsed of it is left when
        // the owner's attempt is answered (Retry-After in whole seconds, rounded up): more than
        // the 1 of the default while elapsed is under 9 s.
        let tenth = ContinuousClock.now
        #expect(try await login(from: "192.0.2.10", "wrong-password").status == 401)
        let waiting = try await login(from: "198.51.100.1", Self.password)
        let lowest = Self.leastRetryAfter(of: .seconds(10), startedAfter: tenth)
        let retryAfter = waiting.header("Retry-After").flatMap { Int($0) }
        #expect(waiting.status == 429 && retryAfter.map { (lowest...10).contains($0) } == true, "\(waiting.status) \(waiting.text)")
        // ... which ends: the owner gets in (polled: the wait is measured from the last failure).
        let admitted = try await eventually(timeout: .seconds(40), every: .milliseconds(250)) {
            try await login(from: "198.51.100.1", Self.password).status == 200
        }
        #expect(admitted, "the owner was still refused after the backoff")
        try await stop()
    }

    @Test("the verification code is in the mail's body only: not in its subject, the customer's notification feed, nor the sent outbox row")
    func codeOnlyInTheBody() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let email = fleet.newAddress()
        let id = try await fleet.register(email)
        let code = try await fleet.verificationCode(for: email)
        let mail = try #require(fleet.smtp.mails(to: email).last { $0.template == "verification" })
        let subject = try #require(mail.headers["subject"])
        #expect(!subject.contains(code), "the subject carries the code: \(subject)")
        var feed = ""
        _ = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
            feed = try await fleet.api.send("GET", "/admin/customers/\(id)/notifications", as: .admin).text
            return feed.contains("verification")
        }
        #expect(feed.contains("verification") && !feed.contains(code), "\(feed)")
        // The mail command's outbox row is kept for a week after it is published, without its body.
        var rows: [(sent: Bool, body: String)] = []
        _ = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
            rows = try await fleet.database.query("""
                SELECT sent_at IS NOT NULL AS sent, body::text AS body FROM messaging.outbox
                WHERE message_type = 'mail.send' AND message_key = \(id)
                """).map { (try $0.decode("sent"), try $0.decode("body")) }
            return !rows.isEmpty && rows.allSatisfy(\.sent)
        }
        #expect(!rows.isEmpty && rows.allSatisfy { $0.sent && !$0.body.contains(code) }, "\(rows)")
    }

    @Test("resends do not buy more guesses: wrong codes count across codes, and each resend doubles the next cooldown")
    func resendsDoNotBuyGuesses() async throws {
        let fleet = try await PipelineFleet.shared.get()
        // Two tries per code, four wrong codes a day, ten seconds before the first resend (a
        // loaded machine took over 3 s for the two requests below; with 1 s the doubled cooldown
        // had run out before the early one arrived, and 3 s left it 6 s for them).
        let api = try await fleet.spawnAPI("api-codes", environment: [
            "AUTH_CODE_ATTEMPTS": "2", "AUTH_CODE_MAX_FAILURES": "4", "AUTH_RESEND_COOLDOWN": "10s",
        ]).api
        #expect(try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
            (try? await api.send("GET", "/health/live").status) == 200
        })
        let email = fleet.newAddress()
        #expect(try await api.send("POST", "/auth/register", body: ["email": email, "password": Self.password]).status == 202)
        /// The code of the `number`-th verification mail to the address.
        func code(_ number: Int) async throws -> String {
            var code: String?
            _ = try await eventually(timeout: .seconds(45), every: .milliseconds(200)) {
                let mails = fleet.smtp.mails(to: email).filter { $0.template == "verification" }
                code = mails.count >= number ? mails[number - 1].text.firstMatch(of: /\b(\d{6})\b/).map { String($0.1) } : nil
                return code != nil
            }
            return try #require(code, "no verification mail number \(number) for \(email)")
        }
        func guessWrong(_ right: String) async throws {
            for _ in 0..<2 {
                let wrong = String(format: "%06d", (Int(right)! + 1) % 1_000_000)
                #expect(try await api.send("POST", "/auth/verify", body: ["email": email, "code": wrong]).status == 400)
            }
        }
        /// Resends once the cooldown allows; returns the instant before the accepted request left.
        @discardableResult
        func resendWhenAllowed() async throws -> ContinuousClock.Instant {
            var sent = ContinuousClock.now
            #expect(try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
                sent = .now
                return try await api.send("POST", "/auth/resend", body: ["email": email]).status == 202
            })
            return sent
        }
        try await guessWrong(try await code(1))
        let resent = try await resendWhenAllowed()
        // The first resend started a cooldown twice the first one (20 s). The server started it
        // after `resent` and answered before `elapsed` had passed, so at least 20 s - elapsed of it
        // was left: Retry-After (whole seconds, rounded up) is over 10 while elapsed is under 10 s,
        // where an undoubled cooldown would say 10 at most; on a slow machine, at least what is left.
        let early = try await api.send("POST", "/auth/resend", body: ["email": email])
        let elapsed = (ContinuousClock.now - resent).timeInterval
        let lowest = Self.leastRetryAfter(of: .seconds(20), startedAfter: resent)
        let retryAfter = early.header("Retry-After").flatMap { Int($0) } ?? 0
        #expect(early.status == 429 && (lowest...20).contains(retryAfter),
                "\(early.status) Retry-After \(early.header("Retry-After") ?? "-") after \(elapsed) s: \(early.text)")
        try await guessWrong(try await code(2))
        try await resendWhenAllowed()
        // Four wrong codes today: the third code is refused, the right one too.
        let capped = try await api.send("POST", "/auth/verify", body: ["email": email, "code": try await code(3)])
        #expect(capped.status == 429, "the right code after the day's wrong codes: \(capped.status) \(capped.text)")
        try await fleet.stop("api-codes")
    }

    @Test("the configured admin logs in and reaches admin routes")
    func adminBootstrap() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let login = try await fleet.api.send(
            "POST", "/auth/login", body: ["email": "admin@\(fleet.id).test", "password": "admin-password-\(fleet.id)"])
        #expect(login.status == 200, "\(login.text)")
        let token = try login.decode(Tokens.self).accessToken
        #expect(try await fleet.api.send("GET", "/me", as: .bearer(token)).json["role"] as? String == "admin")
        let product = NewProductBody(sku: "ADM-\(UUID().uuidString.prefix(8))", name: "admin made", priceMinor: 100, currency: "EUR", stock: 1)
        #expect(try await fleet.api.send("POST", "/products", as: .bearer(token), body: product).status == 201)
    }

    @Test("accounts never verified are purged after their lifetime, with user.deleted")
    func purgeUnverified() async throws {
        let fleet = try await PipelineFleet.shared.get()
        var ids: [UUID] = []
        for _ in 0..<3 {
            ids.append(try #require(UUID(uuidString: try await fleet.register(fleet.newAddress()))))
        }
        let (id, young, verified) = (ids[0], ids[1], ids[2])
        // Two hours old; every other account of the tests is minutes old at most. `verified` is as
        // old, but verified; `young` is unverified and new.
        try await fleet.database.execute("UPDATE auth.accounts SET created_at = now() - interval '2 hours' WHERE id = \(id)")
        try await fleet.database.execute(
            "UPDATE auth.accounts SET created_at = now() - interval '2 hours', verified_at = now() WHERE id = \(verified)")
        var policy = AuthPolicy()
        policy.unverifiedLifetime = .seconds(3600)
        let purge = AccountPurge(database: fleet.database, policy: policy, interval: .seconds(60), logger: PipelineFleet.logger)
        #expect(try await purge.purgeOnce() >= 1)
        #expect(try await fleet.database.query("SELECT 1 FROM auth.accounts WHERE id = \(id)").isEmpty)
        #expect(try await fleet.database.query("SELECT 1 FROM auth.accounts WHERE id IN (\(young), \(verified))").count == 2)
        let events = try await fleet.database.query("""
            SELECT 1 FROM messaging.outbox WHERE message_type = 'user.deleted' AND message_key = \(id.uuidString.lowercased())
            """)
        #expect(events.count == 1)
    }

    static let password = "correct horse battery"
}

extension PipelineFleet {
    func newAddress(domain: String? = nil) -> String {
        "u-\(UUID().uuidString.prefix(12).lowercased())@\(domain ?? "\(id).test")"
    }

    /// Registers `email` (202) and returns its account's id, which the answer does not tell.
    func register(_ email: String) async throws -> String {
        let reply = try await api.send("POST", "/auth/register", body: ["email": email, "password": AuthFlowTests.password])
        try #require(reply.status == 202, "POST /auth/register: \(reply.status) \(reply.text)")
        return try await accountID(of: email)
    }

    func accountID(of email: String) async throws -> String {
        try await database.query("SELECT id::text AS id FROM auth.accounts WHERE email = \(email)").single().decode("id")
    }

    /// The code from the newest verification mail the catcher received for `email`.
    func verificationCode(for email: String, template: String = "verification", timeout: Duration = .seconds(45)) async throws -> String {
        var code: String?
        _ = try await eventually(timeout: timeout, every: .milliseconds(200)) {
            let mail = self.smtp.mails(to: email).last { $0.template == template }
            code = mail.flatMap { $0.text.firstMatch(of: /\b(\d{6})\b/).map { String($0.1) } }
            return code != nil
        }
        return try #require(code, "no verification mail for \(email); logs in \(logDirectory.path)")
    }

    /// The types of the outbox messages with `correlationID`, once there are `atLeast` of them.
    func outboxTypes(correlationID: String, atLeast count: Int) async throws -> [String] {
        var types: [String] = []
        _ = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
            types = try await self.database.query(
                "SELECT message_type FROM messaging.outbox WHERE correlation_id = \(correlationID)").map { try $0.decode("message_type") }
            return types.count >= count
        }
        return types
    }
}
