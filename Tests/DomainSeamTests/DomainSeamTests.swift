import Auth
import Catalog
import Contracts
import DomainRuntime
import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import Logging
import Mailing
import Messaging
import Ordering
import Postgres
import Redis
import Testing

/// The seam a domain is added through (``DomainModule``), proven with the example in `Wishlist/`:
/// what the process derives from the declarations includes it, its route is served by the real
/// gateway, its settings are read and checked, and a clash with a built-in domain is refused.
/// No service runs: the pools are made and never started.
@Suite("Adding a domain through the seam")
struct DomainSeamTests {
    static let builtIn = [AuthDomain.module, CatalogDomain.module, OrderingDomain.module, MailingDomain.module]
    static var domains: [DomainModule] { builtIn + [WishlistDomain.module] }

    static let secret = "a-signing-key-of-well-over-thirty-two-bytes-for-tests"

    @Test("the topics, worker roles, settings, delays and API models derived from the domains include the new one")
    func derivedListsIncludeIt() throws {
        let set = try DomainSet(Self.domains)
        #expect(set.topics.map(\.name) == ["user", "product", "order", "wishlist"])
        #expect(set.topics.last?.deadLetterName == "wishlist.dlq")
        #expect(set.workers.map(\.name) == ["auth", "product", "order", "mail", "wishlist"])
        let keys = set.settings.flatMap(\.declarations).map(\.name)
        #expect(keys.contains("WISHLIST_MAX_ITEMS") && keys.contains("ORDER_EXPIRY_DELAY"))
        let model = try #require(set.apiModels.first { $0.schema == "Wishlist" })
        if case .object(_, let fields) = try model.shape() {
            #expect(fields.map(\.name) == ["customerID", "items", "limit"] && fields.allSatisfy(\.required))
        } else {
            Issue.record("the Wishlist model is not an object")
        }
        let settings = try SettingsReader(keys: set.settings.flatMap(\.declarations), variables: [:])
        let delays = try set.delays(settings)
        #expect(delays.contains(.seconds(7 * 86_400)) && delays.contains(.seconds(2 * 3600)), "\(delays)")
    }

    @Test("a domain whose declarations clash with another's is refused, naming what clashes", arguments: [
        ("worker role", DomainModule(name: "copy", workers: [WorkerRole(name: "order", abstract: "", metricsPort: 9499) { _ in WorkerPlan(subscriptions: []) }])),
        ("worker metrics port", DomainModule(name: "copy", workers: [WorkerRole(name: "copy", abstract: "", metricsPort: 9403) { _ in WorkerPlan(subscriptions: []) }])),
        ("Kafka topic", DomainModule(name: "copy", topics: [KafkaTopicLayout(name: "order", partitions: 1, deadLetterPartitions: 1, key: "id")])),
        ("settings key", DomainModule(name: "copy", settings: [OrderKeys()])),
        ("domain", DomainModule(name: "ordering")),
    ])
    func clashesAreRefused(what: String, module: DomainModule) throws {
        let error = #expect(throws: DomainSetError.self) { try DomainSet(Self.builtIn + [module]) }
        #expect(error?.description.contains(what) == true, "\(String(describing: error))")
    }

    @Test("the gateway serves the new domain's route beside the others, with the caller and its settings")
    func gatewayServesItsRoute() async throws {
        let logger = Logger(label: "emporium.tests.seam")
        let pool = PostgresPool(configuration: try PostgresConfiguration(url: "postgresql://nobody@127.0.0.1:1/none"), logger: logger)
        let redis = RedisPool(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1"), logger: logger)
        let set = try DomainSet(Self.domains)
        let settings = try SettingsReader(
            keys: set.settings.flatMap(\.declarations),
            variables: ["WISHLIST_MAX_ITEMS": "7", "AUTH_JWT_SECRET": Self.secret, "AUTH_PASSWORD_COST": "minimum"])
        let api = try await set.api(APIContext(
            settings: settings, database: PostgresRouter(primary: pool, replica: nil, logger: logger), redis: redis, namespace: "seam",
            logger: logger))
        let tokens = await AccessTokens(settings: AccessTokens.Settings(secret: Array(Self.secret.utf8), issuer: "emporium", audience: "emporium-api"))
        let router = Gateway.router(Gateway.Services(routes: api.routes, tokens: tokens, limiter: nil, readiness: []))
        let paths = Set(router.routes.map { "\($0.method) \($0.path)" })
        #expect(paths.contains("GET /wishlist") && paths.contains("POST /orders") && paths.contains("GET /products"), "\(paths.sorted())")

        let token = try await tokens.issue(subject: "customer-7", role: "customer").token
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/wishlist", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            try await client.execute(uri: "/wishlist", method: .get, headers: [.authorization: "Bearer \(token)"]) { response in
                #expect(response.status == .ok)
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(body?["customerID"] as? String == "customer-7" && body?["limit"] as? Int == 7, "\(String(describing: body))")
            }
        }
    }

    @Test("a wrong value of the new domain's key stops start-up with the key's name")
    func itsSettingsAreChecked() throws {
        let settings = try SettingsReader(keys: WishlistKeys().declarations, variables: ["WISHLIST_REMINDER_DELAY": "10s"])
        let error = #expect(throws: ConfigurationError.self) { try settings.value(WishlistKeys().reminderDelay) }
        #expect(error?.description == "configuration error: WISHLIST_REMINDER_DELAY: must be at least 1m")
    }

    @Test("its worker role subscribes to the catalog's topic with its handlers")
    func itsWorkerPlan() async throws {
        let logger = Logger(label: "emporium.tests.seam")
        let pool = PostgresPool(configuration: try PostgresConfiguration(url: "postgresql://nobody@127.0.0.1:1/none"), logger: logger)
        let role = try #require(try DomainSet(Self.domains).workers.first { $0.name == "wishlist" })
        #expect(role.processName == "worker-wishlist")
        let plan = try await role.plan(WorkerContext(
            settings: try SettingsReader(keys: WishlistKeys().declarations, variables: [:]), database: pool, namespace: "seam", logger: logger))
        guard case .kafka(let topics) = try #require(plan.subscriptions.first).source else {
            Issue.record("not a Kafka subscription")
            return
        }
        #expect(topics == ["product"] && plan.subscriptions.first?.handlers.types == ["product.updated"])
    }
}
