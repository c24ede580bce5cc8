public import Catalog
import CatalogCore
public import DomainKit
import Foundation
import Graphiti
public import Mailing
public import Ordering
import OrderingCore

/// What one request's resolvers share: who is asking, and the loaders that batch what the
/// items of a list ask for.
public final class GraphContext: Sendable {
    public let caller: Caller?
    let products: BatchLoader<String, Product>
    let histories: BatchLoader<UUID, [OrderAdministration.Transition]>

    init(caller: Caller?, services: StorefrontResolver) {
        self.caller = caller
        products = BatchLoader { try await services.catalog.products($0) }
        histories = BatchLoader { try await services.administration.histories(of: $0) }
    }

    func requireCaller() throws -> Caller {
        guard let caller else { throw DomainError.unauthorized("Sign in: this field needs a bearer token.") }
        return caller
    }
}

/// The root fields. Each reads through the domain services the REST routes use, with the same
/// rules (what a customer may see, page sizes, cursors); nothing here speaks HTTP or SQL.
public struct StorefrontResolver: Sendable {
    let catalog: CatalogStore
    let orders: OrderService
    let carts: CartService
    let administration: OrderAdministration
    let feed: NotificationFeed

    public init(catalog: CatalogStore, orders: OrderService, carts: CartService, administration: OrderAdministration, feed: NotificationFeed) {
        self.catalog = catalog
        self.orders = orders
        self.carts = carts
        self.administration = administration
        self.feed = feed
    }

    /// The most items one page may hold (REST's `limit` has the same bound).
    public static let pageSizes = 1...100
    static let defaultPageSize = 20

    // MARK: - Arguments

    public struct ProductFilter: Codable, Sendable {
        var text: String?
        var currency: String?
        var minPrice: Int64?
        var maxPrice: Int64?
        var inStock: Bool?
    }

    public struct ProductsArguments: Codable, Sendable {
        var filter: ProductFilter?
        var first: Int?
        var after: String?
    }

    public struct SKUArguments: Codable, Sendable {
        var sku: String
    }

    public struct OrdersArguments: Codable, Sendable {
        var first: Int?
        var after: String?
        var customerId: String?
        var status: OrderStatus?
    }

    public struct OrderArguments: Codable, Sendable {
        var id: String
    }

    public struct PageArguments: Codable, Sendable {
        var first: Int?
        var after: String?
    }

    // MARK: - Root fields

    func products(context: GraphContext, arguments: ProductsArguments) async throws -> Connection<ProductNode> {
        var query = ProductQuery()
        query.limit = try Self.pageSize(arguments.first)
        query.after = arguments.after
        if let filter = arguments.filter {
            query.search = filter.text.flatMap { $0.isEmpty ? nil : $0 }
            if let currency = filter.currency, !ProductRules.isCurrency(currency) {
                throw DomainError.invalid("filter.currency", "three capital letters, got \(currency)")
            }
            query.currency = filter.currency
            query.minimumPrice = filter.minPrice
            query.maximumPrice = filter.maxPrice
            query.inStockOnly = filter.inStock ?? false
        }
        let page = try await catalog.products(query)
        return Connection(page, after: arguments.after, cursor: \.sku, node: ProductNode.init)
    }

    func product(context: GraphContext, arguments: SKUArguments) async throws -> ProductNode? {
        try await catalog.product(arguments.sku).map(ProductNode.init)
    }

    // The fields that need a caller are nullable: without one, a product page's query still gets
    // its product, with the cart null and an UNAUTHENTICATED error beside it.

    /// The caller's cart (empty and open if they have none).
    func cart(context: GraphContext, arguments: NoArguments) async throws -> CartNode? {
        let view = try await carts.view(of: try context.requireCaller().id)
        await context.products.expect(view.lines.map(\.sku))
        return CartNode(view: view)
    }

    /// The caller's orders, newest first; an admin may name any customer, or none for everyone's.
    func orders(context: GraphContext, arguments: OrdersArguments) async throws -> Connection<OrderNode>? {
        let caller = try context.requireCaller()
        let customer = arguments.customerId ?? (caller.isAdmin ? nil : caller.id)
        guard caller.isAdmin || customer == caller.id else {
            throw DomainError.forbidden("Only admins see another customer's orders.")
        }
        let page = try await administration.orders(
            OrderAdministration.Filter(status: arguments.status, customerID: customer), limit: try Self.pageSize(arguments.first),
            after: try Self.cursor(arguments.after))
        await context.histories.expect(page.items.map(\.id))
        await context.products.expect(page.items.flatMap { $0.lines.map(\.sku) })
        return Connection(page, after: arguments.after, cursor: { $0.id.uuidString.lowercased() }, node: OrderNode.init)
    }

    /// One order the caller may see (their own; any, for an admin), or null.
    func order(context: GraphContext, arguments: OrderArguments) async throws -> OrderNode? {
        let caller = try context.requireCaller()
        guard let id = UUID(uuidString: arguments.id), let order = try await orders.order(id, caller: caller) else { return nil }
        await context.products.expect(order.lines.map(\.sku))
        return OrderNode(order: order)
    }

    /// The caller's notifications, newest first, with the unread count.
    func notifications(context: GraphContext, arguments: PageArguments) async throws -> NotificationConnection? {
        let caller = try context.requireCaller()
        let feed = try await feed.feed(of: caller.id, limit: try Self.pageSize(arguments.first), after: try Self.cursor(arguments.after))
        let page = Page(items: feed.items, nextCursor: feed.nextCursor)
        return NotificationConnection(
            connection: Connection(page, after: arguments.after, cursor: { $0.id.uuidString.lowercased() }, node: NotificationNode.init),
            unreadCount: feed.unread)
    }

    // MARK: - Argument rules

    static func pageSize(_ first: Int?) throws -> Int {
        let size = first ?? defaultPageSize
        guard pageSizes.contains(size) else {
            throw DomainError.invalid("first", "\(pageSizes.lowerBound) to \(pageSizes.upperBound), got \(size)")
        }
        return size
    }

    static func cursor(_ text: String?) throws -> UUID? {
        guard let text else { return nil }
        guard let id = UUID(uuidString: text) else { throw DomainError.invalid("after", "a cursor from endCursor, got \(text)") }
        return id
    }
}
