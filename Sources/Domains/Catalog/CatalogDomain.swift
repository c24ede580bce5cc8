import Contracts
public import DomainRuntime
import Hummingbird
import HTTPRuntime

/// The catalog through the seam: `/products` in the API, and the product worker, which
/// reserves, releases and sells stock for orders.
public enum CatalogDomain {
    public static let module = DomainModule(
        name: "catalog",
        topics: [Destinations.productLayout],
        api: { context in APIPart(routes: [Routes(store: CatalogStore(database: context.database))]) },
        workers: [
            WorkerRole(name: "product", abstract: "Reserve and release stock for orders (Kafka: order).", metricsPort: 9402) { _ in
                WorkerPlan(subscriptions: [
                    Subscription(.kafka(topics: [Destinations.orderTopic]), handlers: StockReservations.handlers(), handlersActOnlyInTransaction: true)
                ])
            }
        ],
        apiModels: [
            APIModel("Product", Product.self),
            APIModel("NewProduct", NewProduct.self),
            APIModel("ProductChanges", ProductChanges.self),
            APIModel("StockAdjustment", StockAdjustment.self),
            APIModel("ProductPage", Page<Product>.self),
        ])

    struct Routes: DomainRoutes {
        let store: CatalogStore

        func register<Context: IdentifiedRequestContext>(on router: Router<Context>) {
            CatalogRoutes<Context>(store: store).register(on: router)
        }
    }
}
