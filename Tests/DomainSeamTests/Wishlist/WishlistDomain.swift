import Contracts
import DomainRuntime
import Hummingbird
import HTTPRuntime
import Messaging

/// An example domain added through the seam, as docs/adding-a-domain.md describes: a customer's
/// wishlist, with a route, a worker role that follows the catalog, a topic of its own, a timer's
/// delay and two settings keys. Everything it adds lives in this folder; the process that runs it
/// lists it once (here, ``DomainSeamTests/domains``).
enum WishlistDomain {
    static let topic = KafkaTopicLayout(name: "wishlist", partitions: 4, deadLetterPartitions: 1, key: "customer id")

    static let module = DomainModule(
        name: "wishlist",
        settings: [WishlistKeys()],
        topics: [topic],
        delays: { settings in [try settings.value(WishlistKeys().reminderDelay)] },
        api: { context in APIPart(routes: [WishlistRoutes(limit: try context.settings.value(WishlistKeys().maximumItems))]) },
        workers: [
            WorkerRole(name: "wishlist", abstract: "Follow the catalog for wishlists (Kafka: product).", metricsPort: 9405) { _ in
                var handlers = MessageHandlers()
                // A price change would be noted against the wishlists that hold the product.
                handlers.on(ProductUpdated.self) { _, _ in }
                return WorkerPlan(subscriptions: [Subscription(.kafka(topics: [Destinations.productTopic]), handlers: handlers)])
            }
        ],
        apiModels: [APIModel("Wishlist", WishlistRoutes.Wishlist.self)])
}

struct WishlistKeys: SettingGroup {
    var title: String { "Wishlists" }

    let maximumItems = Setting.integer("WISHLIST_MAX_ITEMS", default: 50, in: 1...1000, meaning: "items one customer may keep")
    let reminderDelay = Setting.duration(
        "WISHLIST_REMINDER_DELAY", default: .seconds(7 * 86_400), atLeast: .seconds(60),
        meaning: "after this, a customer is reminded of a wishlist untouched since")
}

/// `GET /wishlist`: the caller's wishlist (empty in this example) and how long it may grow.
struct WishlistRoutes: DomainRoutes {
    let limit: Int

    struct Wishlist: ResponseCodable {
        let customerID: String
        let items: [String]
        let limit: Int
    }

    func register<Context: IdentifiedRequestContext>(on router: Router<Context>) {
        router.get("wishlist") { _, context in
            let caller = try context.requireCaller()
            return Wishlist(customerID: caller.id, items: [], limit: limit)
        }
    }
}
