import Auth
import Catalog
import DomainRuntime
import EmporiumTestSupport
import Foundation
import Gateway
import GraphQLAPI
import Hummingbird
import Mailing
import Ordering
import Postgres
import Redis
import Testing

/// The HTTP front: tokens, rate limits across replicas, health, metrics, limits, the API document.
@Suite("Gateway", .usesRabbitMQ, .timeLimit(.minutes(10)))
struct GatewayTests {
    @Test("tampered, expired, early, wrong-audience, wrong-issuer and foreign-key tokens get 401")
    func badTokens() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let mint = APIClient.tokens
        let good = try await mint.token(subject: "gw-\(UUID())", role: "customer")
        #expect(try await fleet.api.send("GET", "/orders", as: .bearer(good)).status == 200)

        var settings = mint.defaultSettings
        let expired = try await mint.token(subject: "gw", role: "customer", now: Date().addingTimeInterval(-7200))
        let early = try await mint.token(subject: "gw", role: "customer", now: Date().addingTimeInterval(3600))
        settings.audience = "somebody-else"
        let otherAudience = try await mint.token(subject: "gw", role: "customer", settings: settings)
        settings = mint.defaultSettings
        settings.issuer = "not-emporium"
        let otherIssuer = try await mint.token(subject: "gw", role: "customer", settings: settings)
        settings = mint.defaultSettings
        settings.secret = Array("another-key-that-is-long-enough-0123456789".utf8)
        let foreign = try await mint.token(subject: "gw", role: "customer", settings: settings)
        var parts = good.split(separator: ".").map(String.init)
        parts[1] = String(parts[1].dropLast()) + (parts[1].last == "A" ? "B" : "A")
        let tampered = parts.joined(separator: ".")

        for (name, token) in [
            ("tampered", tampered), ("expired", expired), ("not yet valid", early), ("wrong audience", otherAudience),
            ("wrong issuer", otherIssuer), ("foreign key", foreign), ("garbage", "not.a.jwt"),
        ] {
            let reply = try await fleet.api.send("GET", "/orders", as: .bearer(token))
            #expect(reply.status == 401, "\(name): \(reply.status) \(reply.text)")
            #expect(reply.header("Content-Type") == "application/problem+json", "\(name)")
        }
        #expect(try await fleet.api.send("GET", "/orders").status == 401)
    }

    @Test("a customer on an admin route gets 403")
    func customerOnAdminRoute() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let product = NewProductBody(sku: "GW-\(UUID().uuidString.prefix(8))", name: "x", priceMinor: 1, currency: "EUR", stock: 1)
        let reply = try await fleet.api.send("POST", "/products", as: .customer("gw-\(UUID())"), body: product)
        #expect(reply.status == 403, "\(reply.text)")
    }

    @Test("the rate limit holds across two api processes; a GraphQL query over POST counts as a read")
    func rateLimitAcrossReplicas() async throws {
        let fleet = try await PipelineFleet.shared.get()
        var urls: [URL] = []
        for index in 1...2 {
            let api = try await fleet.spawnAPI("api-limited-\(index)", environment: [
                "RATE_LIMIT_READ": "5/1m", "AUTH_ADMIN_EMAIL": "", "AUTH_ADMIN_PASSWORD": "",
            ].filter { !$0.value.isEmpty }).api
            urls.append(api.baseURL)
        }
        for url in urls {
            let up = try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
                (try? await APIClient(baseURL: url).send("GET", "/health/live").status) == 200
            }
            #expect(up)
        }
        let caller = APIClient.Identity.customer("limited-\(UUID())")
        var remaining: [String] = []
        for index in 0..<5 {
            // A GraphQL query is a read, whichever method carries it.
            let client = APIClient(baseURL: urls[index % 2])
            let reply = index == 2
                ? try await client.send("POST", "/graphql", as: caller, raw: Data(#"{"query":"{ orders { nodes { id } } }"}"#.utf8))
                : try await client.send("GET", "/orders", as: caller)
            #expect(reply.status == 200, "request \(index + 1): \(reply.text)")
            #expect(reply.header("RateLimit-Limit") == "5")
            remaining.append(reply.header("RateLimit-Remaining") ?? "?")
        }
        #expect(remaining == ["4", "3", "2", "1", "0"])
        let refused = try await APIClient(baseURL: urls[1]).send("GET", "/orders", as: caller)
        #expect(refused.status == 429, "\(refused.text)")
        #expect(refused.header("Retry-After").flatMap(Int.init).map { (1...60).contains($0) } == true)
        #expect(refused.header("Content-Type") == "application/problem+json")
        // Another caller has an allowance of its own.
        #expect(try await APIClient(baseURL: urls[0]).send("GET", "/orders", as: .customer("other-\(UUID())")).status == 200)
        for index in 1...2 { try await fleet.stop("api-limited-\(index)") }
    }

    @Test("X-Forwarded-For names the client only when the peer is a trusted proxy")
    func forwardedForFromTrustedProxiesOnly() async throws {
        let fleet = try await PipelineFleet.shared.get()
        // One API behind a proxy on this host, one that trusts only a network the tests are not on.
        var urls: [String: URL] = [:]
        for (name, trusted) in [("api-behind-proxy", "127.0.0.0/8, ::1"), ("api-untrusting", "10.0.0.0/8")] {
            urls[name] = try await fleet.spawnAPI(name, environment: [
                "RATE_LIMIT_READ": "2/1m", "API_TRUSTED_PROXIES": trusted,
                // Counters of their own: both see the same peer address.
                "MESSAGING_NAMESPACE": "\(fleet.id)-\(name)",
            ]).api.baseURL
        }
        for url in urls.values {
            #expect(try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
                (try? await APIClient(baseURL: url).send("GET", "/health/live").status) == 200
            })
        }
        func products(_ name: String, forwardedFor: String) async throws -> Int {
            try await APIClient(baseURL: urls[name]!).send("GET", "/products", headers: ["X-Forwarded-For": forwardedFor]).status
        }
        let client = "203.0.113.\(Int.random(in: 1...250))"
        // Behind the trusted proxy, each client has its own allowance; what a client writes to
        // the left of the proxy's entry is not believed.
        #expect(try await products("api-behind-proxy", forwardedFor: client) == 200)
        #expect(try await products("api-behind-proxy", forwardedFor: "198.51.100.7, \(client)") == 200)
        // A further trusted hop to the right (a second proxy) is walked past, to the same client.
        #expect(try await products("api-behind-proxy", forwardedFor: "198.51.100.8, \(client), 127.0.0.2") == 429)
        #expect(try await products("api-behind-proxy", forwardedFor: "2001:db8::\(Int.random(in: 1...9999))") == 200)
        // From a peer that is not a trusted proxy the header is ignored: changing it each time
        // does not escape the peer's limit.
        var statuses: [Int] = []
        for index in 1...3 { statuses.append(try await products("api-untrusting", forwardedFor: "192.0.2.\(index)")) }
        #expect(statuses == [200, 200, 429], "\(statuses)")
        for name in urls.keys { try await fleet.stop(name) }
    }

    @Test("an api whose Postgres, Redis and RabbitMQ URLs ask for TLS is ready, and an order goes through it")
    func servicesOverTLS() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let environment = ProcessInfo.processInfo.environment
        let redis = try #require(environment["REDIS_TLS_URL"], "REDIS_TLS_URL is not set: eval \"$(bash deploy/local/services.sh env)\"")
        let amqp = try #require(environment["AMQP_TLS_URL"], "AMQP_TLS_URL is not set")
        let ca = try #require(URLComponents(string: redis)?.queryItems?.first { $0.name == "cacertfile" }?.value)
        let postgres = try #require(fleet.environment["POSTGRES_PRIMARY_URL"]) + "?sslmode=verify-full&sslrootcert=\(ca)"
        // The fleet's own processes connect without TLS: TLS sessions on its database are this api's.
        func tlsSessions() async throws -> Int {
            try await fleet.count("""
                SELECT count(*)::int FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
                WHERE ssl AND datname = current_database() AND pid <> pg_backend_pid()
                """)
        }
        #expect(try await tlsSessions() == 0)
        let api = try await fleet.spawnAPI("api-tls", environment: ["POSTGRES_PRIMARY_URL": postgres, "REDIS_URL": redis, "AMQP_URL": amqp]).api
        let ready = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) { (try? await api.send("GET", "/health/ready").status) == 200 }
        #expect(ready, "the api over TLS never got ready; see \(fleet.logDirectory.path)/api-tls.log")

        let sku = fleet.uniqueSKU("TLS")
        try await fleet.createProduct(sku, stock: 5)
        let customer = "tls-\(UUID())"
        let placed = try await api.send(
            "POST", "/orders", as: .customer(customer), headers: ["Idempotency-Key": UUID().uuidString], body: NewOrderBody([(sku, 2)]))
        #expect(placed.status == 201, "\(placed.status) \(placed.text)")
        let id = try placed.decode(OrderReply.self).id
        try await fleet.waitForOrder(id, customer) { $0.stock == "reserved" }
        #expect(try await tlsSessions() > 0)
        try await fleet.stop("api-tls")
    }

    @Test("ready checks every dependency; metrics count requests by route and status")
    func healthAndMetrics() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let ready = try await fleet.api.send("GET", "/health/ready")
        #expect(ready.status == 200, "\(ready.text)")
        let checks = ready.json["checks"] as? [String: String] ?? [:]
        #expect(Set(checks.keys) == ["postgres", "redis", "rabbitmq", "kafka"] && checks.values.allSatisfy { $0 == "up" }, "\(checks)")
        _ = try await fleet.api.send("GET", "/orders/\(UUID())", as: .customer("metrics-\(UUID())"))
        let metrics = try await fleet.api.send("GET", "/metrics").text
        let counted = metrics.split(separator: "\n").contains {
            $0.hasPrefix("http_requests_total{") && $0.contains("route=\"/orders/{id}\"") && $0.contains("status=\"404\"")
        }
        #expect(counted, "no request count for /orders/:id 404")
        #expect(metrics.contains("http_request_duration_seconds_bucket{"))
    }

    @Test("bodies over the limit get 413, unknown routes 404, both as problem documents with the request's ids")
    func limitsAndProblems() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let big = Data(repeating: UInt8(ascii: "a"), count: 300 * 1024)
        let tooLarge = try await fleet.api.send("POST", "/auth/register", raw: big)
        #expect(tooLarge.status == 413)
        #expect(tooLarge.header("Content-Type") == "application/problem+json")
        let missing = try await fleet.api.send("GET", "/nowhere", headers: ["X-Correlation-Id": "corr-404"])
        #expect(missing.status == 404 && missing.header("Content-Type") == "application/problem+json")
        #expect(missing.header("X-Correlation-Id") == "corr-404" && missing.header("X-Request-Id") != nil)
    }

    @Test("the OpenAPI document lists exactly the router's routes, and is what /openapi.json serves")
    func openAPIMatchesRouter() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let served = try await fleet.api.send("GET", "/openapi.json")
        #expect(served.status == 200)
        #expect(served.body == Data(OpenAPIDocument.bytes))
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        let documented = Set(paths.flatMap { path, operations in
            operations.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" }
        })
        let routed = Set(try await GatewayFixture.routes().map { route in
            let path = route.path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            return "\(route.method) /\(path)"
        })
        #expect(documented == routed, "documented only: \(documented.subtracting(routed).sorted()); routed only: \(routed.subtracting(documented).sorted())")
    }

    @Test("with an OTLP endpoint configured, the request's span is exported in the client's trace, and its messages carry it")
    func spansExported() async throws {
        let fleet = try await PipelineFleet.shared.get()
        // The stand-in collector binds a port of its own choosing and names it once it listens: an
        // exporter started before that would meet a closed port.
        let captured = fleet.logDirectory.appendingPathComponent("otlp-\(UUID())")
        let script = PipelineFleet.repositoryRoot.appendingPathComponent("Tests/otlp_capture.py").path
        let collector = try ChildProcess(["/bin/sh", "-c", "exec python3 '\(script)' '\(captured.path)' 0 2>> '\(captured.path).log'"])
        defer { collector.signal(SIGKILL) }
        var collectorPort: Int?
        _ = try await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
            collectorPort = (try? String(contentsOf: captured.appendingPathComponent("ready"), encoding: .utf8)).flatMap { Int($0) }
            return collectorPort != nil
        }
        let otlpPort = try #require(collectorPort, "the OTLP stand-in did not start (\(captured.path).log)")
        let api = try await fleet.spawnAPI("api-traced", environment: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(otlpPort)",
            "OTEL_BSP_SCHEDULE_DELAY": "100", "AUTH_ADMIN_EMAIL": "", "AUTH_ADMIN_PASSWORD": "",
        ].filter { !$0.value.isEmpty }).api
        defer { Task { try? await fleet.stop("api-traced") } }
        let up = try await eventually(timeout: .seconds(60), every: .milliseconds(200)) { (try? await api.send("GET", "/health/live").status) == 200 }
        try #require(up)

        let traceID = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let correlation = "otlp-\(UUID())"
        let product = NewProductBody(sku: fleet.uniqueSKU("OTLP"), name: "traced", priceMinor: 1, currency: "EUR", stock: 1)
        let created = try await api.send(
            "POST", "/products", as: .admin, headers: ["traceparent": "00-\(traceID)-00f067aa0ba902b7-01", "X-Correlation-Id": correlation],
            body: product)
        #expect(created.status == 201)
        // The answer and the event name the server span: the client's trace, a span of its own.
        let answered = try #require(created.header("traceparent"))
        #expect(answered.hasPrefix("00-\(traceID)-") && !answered.contains("00f067aa0ba902b7"))
        let carried: [String] = try await fleet.database.query(
            "SELECT traceparent FROM messaging.outbox WHERE correlation_id = \(correlation)").map { try $0.decode("traceparent") }
        #expect(carried == [answered], "the event carries the request's span: \(carried) vs \(answered)")
        // And the span reached the collector (OTLP/HTTP protobuf: the trace id as 16 raw bytes).
        let traceBytes = Data(stride(from: 0, to: 32, by: 2).map { offset in
            UInt8(traceID[traceID.index(traceID.startIndex, offsetBy: offset)...].prefix(2), radix: 16)!
        })
        let exported = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: captured.path)) ?? []
            return files.filter { $0.hasSuffix("traces.bin") }.contains { name in
                (try? Data(contentsOf: captured.appendingPathComponent(name)))?.range(of: traceBytes) != nil
            }
        }
        let log = (try? String(contentsOf: fleet.logDirectory.appendingPathComponent("api-traced.log"), encoding: .utf8)) ?? ""
        #expect(exported, "no exported span with trace \(traceID) in \(captured.path); api-traced.log ends:\n\(log.suffix(3000))")
    }

    @Test("schemathesis finds no 5xx and no answer that breaks the document")
    func schemathesis() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let token = try await APIClient.tokens.token(subject: "test-admin", role: "admin")
        let tool = SMTPCatcher.python.replacingOccurrences(of: "/python", with: "/schemathesis")
        let configuration = PipelineFleet.repositoryRoot.appendingPathComponent("Tests/schemathesis.toml").path
        let log = fleet.logDirectory.appendingPathComponent("schemathesis.log").path
        let command = """
            cd '\(fleet.logDirectory.path)' && HYPOTHESIS_STORAGE_DIRECTORY='\(fleet.logDirectory.path)/hypothesis' \
            '\(tool)' --config-file '\(configuration)' run '\(fleet.apiURL.absoluteString)/openapi.json' --url '\(fleet.apiURL.absoluteString)' \
            -c not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
            -H 'Authorization: Bearer \(token)' --seed 20261122 -n 25 -w 1 --mode all --phases examples,coverage,fuzzing \
            --continue-on-failure --generation-database none --no-color --wait-for-schema 30 </dev/null > '\(log)' 2>&1; echo "exit=$?"
            """
        let output = try await ChildProcess.shell(command, timeout: .seconds(420))
        let report = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(output.contains("exit=0"), "schemathesis failed (\(log)):\n\(report.suffix(6000))")
    }
}

/// The gateway's router built in-process from the domains' declarations (nothing runs: the pools
/// are never started), to read its routes.
enum GatewayFixture {
    static let domains = [AuthDomain.module, CatalogDomain.module, OrderingDomain.module, MailingDomain.module, StorefrontGraphQL.module]

    static func routes() async throws -> [(method: String, path: String)] {
        let logger = PipelineFleet.logger
        let pool = PostgresPool(configuration: try PostgresConfiguration(url: "postgresql://nobody@127.0.0.1:1/none"), logger: logger)
        let database = PostgresRouter(primary: pool, replica: nil, logger: logger)
        let redis = RedisPool(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1"), logger: logger)
        let settings = try SettingsReader(
            keys: domains.flatMap(\.settings).flatMap(\.declarations),
            variables: ["AUTH_JWT_SECRET": String(decoding: APIClient.tokens.defaultSettings.secret, as: UTF8.self), "AUTH_PASSWORD_COST": "minimum"])
        let context = APIContext(settings: settings, database: database, redis: redis, namespace: "fixture", logger: logger)
        var routes: [any DomainRoutes] = []
        for domain in domains {
            if let api = domain.api { routes += try await api(context).routes }
        }
        let router = Gateway.router(Gateway.Services(
            routes: routes, tokens: await AccessTokens(settings: APIClient.tokens.defaultSettings), limiter: nil, readiness: []))
        return router.routes.map { ("\($0.method)", "\($0.path)") }
    }
}
