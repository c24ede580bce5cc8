import DomainKit
import HTTPRuntime
import Testing

/// The one place a domain's refusal becomes HTTP: status, title, `errors` and `Retry-After`.
@Suite("Domain errors as problem documents")
struct ProblemRenderingTests {
    @Test("each kind answers its status; invalid fields become the errors member; details become members")
    func kinds() {
        let cases: [(DomainError, Int)] = [
            (.notFound("gone"), 404), (.conflict("paid"), 409), (.forbidden("no"), 403), (.unauthorized("who"), 401),
            (.invalid("lines", "at least one line"), 422), (DomainError(.stale, "changed"), 412),
        ]
        for (error, status) in cases { #expect(Int(Problem(error).status.code) == status, "\(error)") }
        let invalid = Problem(.invalid([.init("a", "x"), .init("b", "y")], details: ["skus": .strings(["S"])]))
        #expect(invalid.extensions["errors"] == .strings(["a: x", "b: y"]) && invalid.extensions["skus"] == .strings(["S"]))
        #expect(invalid.detail == "a: x; b: y")
    }

    @Test("busy is a 409 titled as in progress, with Retry-After in whole seconds; a summary replaces the title")
    func busy() {
        let problem = Problem(DomainError(.busy, "still working", retryAfter: .milliseconds(1500)))
        #expect(problem.status.code == 409 && problem.title == "Request in progress" && problem.headers[.retryAfter] == "2")
        #expect(Problem(DomainError(.invalid, "reused", summary: "Idempotency-Key reused")).title == "Idempotency-Key reused")
    }
}
