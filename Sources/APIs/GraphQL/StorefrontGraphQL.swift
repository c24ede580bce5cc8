public import DomainRuntime
import Catalog
import HTTPRuntime
import Hummingbird
import Mailing
import Ordering

/// The GraphQL API through the domain seam: `/graphql` in the API process, reading through the
/// catalog, ordering and mailing services, with its limits as settings. It declares no topic,
/// worker or model of its own.
public enum StorefrontGraphQL {
    public static let module = DomainModule(
        name: "graphql",
        settings: [GraphQLKeys()],
        api: { context in
            let orders = OrderService(
                settings: try OrderSettings(settings: context.settings), database: context.database, redis: context.redis, logger: context.logger)
            let resolver = StorefrontResolver(
                catalog: CatalogStore(database: context.database), orders: orders,
                carts: CartService(database: context.database, orders: orders),
                administration: OrderAdministration(database: context.database), feed: NotificationFeed(database: context.database))
            let endpoint = try GraphQLEndpoint(resolver: resolver, limits: try GraphQLKeys.limits(context.settings), logger: context.logger)
            return APIPart(routes: [Routes(endpoint: endpoint)])
        })

    struct Routes: DomainRoutes {
        let endpoint: GraphQLEndpoint

        func register<Context: IdentifiedRequestContext>(on router: Router<Context>) {
            endpoint.register(on: router)
        }
    }
}

/// The limits a GraphQL query is held to (``QueryLimits``).
public struct GraphQLKeys: SettingGroup {
    public var title: String { "GraphQL" }

    public init() {}

    public let maximumDepth = Setting.integer(
        "GRAPHQL_MAX_DEPTH", default: 15, in: 2...100,
        meaning: "how deep a query's selections may nest (the standard introspection query needs 13); a deeper one is refused before it is validated")
    public let maximumComplexity = Setting.integer(
        "GRAPHQL_MAX_COMPLEXITY", default: 10_000, in: 10...10_000_000,
        meaning: "the fields a query may resolve, estimated before it runs (a page's `first` multiplies what it selects, another list counts 10 items)")

    public static func limits(_ reader: SettingsReader) throws -> QueryLimits {
        let keys = GraphQLKeys()
        return QueryLimits(maximumDepth: try reader.value(keys.maximumDepth), maximumComplexity: try reader.value(keys.maximumComplexity))
    }
}
