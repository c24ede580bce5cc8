import Contracts
public import DomainRuntime
import Hummingbird
import HTTPRuntime
import Messaging

/// The ordering domain through the seam: carts and orders in the API, and the order worker (the
/// catalog copy, stock decisions, reminders and expiry).
public enum OrderingDomain {
    public static let module = DomainModule(
        name: "ordering",
        settings: [OrderKeys()],
        topics: [Destinations.orderLayout],
        // One delay level per wait between the order's timers: each timer is one delayed publish.
        delays: { settings in OrderTimer.waits(timings: try OrderSettings.timings(settings: settings)) },
        api: { context in
            let settings = try OrderSettings(settings: context.settings)
            let orders = OrderService(settings: settings, database: context.database, redis: context.redis, logger: context.logger)
            return APIPart(routes: [Routes(
                orders: orders, carts: CartService(database: context.database, orders: orders),
                administration: OrderAdministration(database: context.database))])
        },
        workers: [
            WorkerRole(
                name: "order", abstract: "Keep the catalog copy and move orders along (Kafka: product, order; RabbitMQ: reminders, expiry).",
                metricsPort: 9403
            ) { context in
                let settings = try OrderSettings(settings: context.settings)
                let handlers = OrderLifecycle.handlers(timings: settings.timings)
                return WorkerPlan(
                    subscriptions: [
                        // The handlers act only through the message's transaction.
                        Subscription(
                            .kafka(topics: [Destinations.productTopic, Destinations.orderTopic]), handlers: handlers,
                            handlersActOnlyInTransaction: true),
                        Subscription(
                            .queue(QueueBinding(queue: "order", routingKeys: [Destinations.paymentReminderKey, Destinations.expiryKey], concurrency: 8)),
                            handlers: handlers, handlersActOnlyInTransaction: true),
                    ],
                    // The mail worker's queue too, so mail commands have somewhere to wait (an
                    // unroutable publish is retried by the relay) until a mail worker consumes them.
                    declaredQueues: [Destinations.mailQueue],
                    services: [
                        CartPurge(database: context.database, lifetime: settings.cartLifetime, interval: .seconds(60), logger: context.logger),
                        RetentionPurge(
                            database: context.database, rows: .idempotencyKeys, retention: settings.idempotencyRetention, logger: context.logger),
                        DecisionBacklog(database: context.database, logger: context.logger),
                    ])
            }
        ],
        apiModels: [
            APIModel("Order", Order.self),
            APIModel("OrderLine", OrderLine.self),
            APIModel("NewOrder", NewOrder.self),
            APIModel("NewOrderLine", NewOrder.Line.self),
            APIModel("OrderPage", Page<Order>.self),
            APIModel("Transition", OrderAdministration.Transition.self),
            APIModel("OrderDetail", OrderAdministration.Detail.self),
            APIModel("Cart", CartService.View.self),
            APIModel("CartLine", CartService.Line.self),
            APIModel("CartLineRejection", CartService.Rejection.self),
            APIModel("NewCartItem", CartService.NewItem.self),
            APIModel("CartQuantityChange", CartService.QuantityChange.self),
        ])

    /// `/orders`, `/cart` and `/admin/orders`.
    struct Routes: DomainRoutes {
        let orders: OrderService
        let carts: CartService
        let administration: OrderAdministration

        func register<Context: IdentifiedRequestContext>(on router: Router<Context>) {
            OrderRoutes<Context>(service: orders).register(on: router)
            CartRoutes<Context>(service: carts).register(on: router)
            AdminOrderRoutes<Context>(administration: administration).register(on: router)
        }
    }
}
