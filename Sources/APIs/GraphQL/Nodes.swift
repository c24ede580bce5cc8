import Catalog
import CatalogCore
import DomainKit
public import Foundation
import Graphiti
import Mailing
import Ordering
import OrderingCore

// The GraphQL types: thin views of the domains' own values. Fields that need more than the
// value holds (a line's product, an order's history) load it through the request's loaders.

/// An instant, as an ISO 8601 text with fractional seconds (the REST API's format).
public struct DateTime: Codable, Sendable {
    public var date: Date

    public init(_ date: Date) { self.date = date }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: .iso8601)) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 instant: \(text)"))
        }
        self.date = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
    }
}

public struct ProductNode: Sendable {
    let product: Product
    var sku: String { product.sku }
    var name: String { product.name }
    var description: String { product.description }
    var priceMinor: Int64 { product.priceMinor }
    var currency: String { product.currency }
    var stock: Int { product.stock }
    var inStock: Bool { product.stock > 0 }
    var version: Int { Int(product.version) }
    var createdAt: DateTime { DateTime(product.createdAt) }
    var updatedAt: DateTime { DateTime(product.updatedAt) }
}

public struct CartNode: Sendable {
    let view: CartService.View
    var status: CartStatus { view.status }
    var lines: [CartLineNode] { view.lines.map(CartLineNode.init) }
    var totalMinor: Int64? { view.totalMinor }
    var currency: String? { view.currency }
}

public struct CartLineNode: Sendable {
    let line: CartService.Line
    var sku: String { line.sku }
    var name: String? { line.name }
    var quantity: Int { line.quantity }
    var unitPriceMinor: Int64 { line.unitPriceMinor }
    var currency: String { line.currency }
    var lineTotalMinor: Int64 { line.lineTotalMinor }
    var addedPriceMinor: Int64 { line.addedPriceMinor }
    var deleted: Bool { line.deleted }
    var repriced: Bool { line.repriced }
    var rejectedRequested: Int? { line.rejected?.requested }
    var rejectedAvailable: Int? { line.rejected?.available }

    /// The product now (its stock included); null once it is deleted.
    func product(context: GraphContext, arguments: NoArguments) async throws -> ProductNode? {
        try await context.products.load(line.sku).map(ProductNode.init)
    }
}

public struct OrderNode: Sendable {
    let order: Order
    var id: String { order.id.uuidString.lowercased() }
    var customerId: String { order.customerId }
    var status: OrderStatus { order.status }
    var cancelReason: CancelReason? { order.cancelReason }
    var stock: StockDecision { order.stock }
    var stockDecidedAt: DateTime? { order.stockDecidedAt.map(DateTime.init) }
    var currency: String { order.currency }
    var totalMinor: Int64 { order.totalMinor }
    var lines: [OrderLineNode] { order.lines.map(OrderLineNode.init) }
    var createdAt: DateTime { DateTime(order.createdAt) }
    var updatedAt: DateTime { DateTime(order.updatedAt) }

    /// Every status change, oldest first (the orders of one page in one statement).
    func history(context: GraphContext, arguments: NoArguments) async throws -> [TransitionNode] {
        let caller = context.caller
        return (try await context.histories.load(order.id) ?? []).map { TransitionNode(transition: $0, seenByAdmin: caller?.isAdmin == true) }
    }
}

public struct OrderLineNode: Sendable {
    let line: OrderLine
    var sku: String { line.sku }
    var name: String { line.name }
    var quantity: Int { line.quantity }
    var unitPriceMinor: Int64 { line.unitPriceMinor }
    var lineTotalMinor: Int64 { line.lineTotalMinor }

    /// The product now; null once it is deleted (the line keeps the name and price it was ordered at).
    func product(context: GraphContext, arguments: NoArguments) async throws -> ProductNode? {
        try await context.products.load(line.sku).map(ProductNode.init)
    }
}

public struct TransitionNode: Sendable {
    let transition: OrderAdministration.Transition
    let seenByAdmin: Bool
    var from: OrderStatus? { transition.from }
    var to: OrderStatus { transition.to }
    var reason: CancelReason? { transition.reason }
    var at: DateTime { DateTime(transition.at) }

    /// Who and what moved the order: for admins only (a customer asking gets FORBIDDEN on the field).
    func actor(context: GraphContext, arguments: NoArguments) throws -> String? {
        try adminOnly(transition.actor)
    }

    func causeKind(context: GraphContext, arguments: NoArguments) throws -> String? {
        try adminOnly(transition.causeKind)
    }

    func causeId(context: GraphContext, arguments: NoArguments) throws -> String? {
        try adminOnly(transition.causeId)
    }

    func messageType(context: GraphContext, arguments: NoArguments) throws -> String? {
        try adminOnly(transition.messageType)
    }

    private func adminOnly(_ value: String?) throws -> String? {
        guard seenByAdmin else { throw DomainError.forbidden("Only admins see what caused a transition.") }
        return value
    }
}

public struct NotificationNode: Sendable {
    let notification: NotificationFeed.Notification
    var id: String { notification.id.uuidString.lowercased() }
    var kind: String { notification.kind }
    var title: String { notification.title }
    var body: String { notification.body }
    var orderId: String? { notification.orderId?.uuidString.lowercased() }
    var orderStatus: String? { notification.orderStatus }
    var occurredAt: DateTime { DateTime(notification.occurredAt) }
    var read: Bool { notification.read }
}

// MARK: - Connections (Relay's cursor pagination)

public struct PageInfo: Sendable {
    var hasNextPage: Bool
    var hasPreviousPage: Bool
    var startCursor: String?
    var endCursor: String?
}

public struct Edge<Node: Sendable>: Sendable {
    var cursor: String
    var node: Node
}

public struct Connection<Node: Sendable>: Sendable {
    var edges: [Edge<Node>]
    var pageInfo: PageInfo
    /// The edges' nodes, for clients that need no cursor per item.
    var nodes: [Node] { edges.map(\.node) }

    /// From a domain page: each item's cursor is the one the next page would start after.
    init<Item>(_ page: Page<Item>, after: String?, cursor: (Item) -> String, node: (Item) -> Node) {
        edges = page.items.map { Edge(cursor: cursor($0), node: node($0)) }
        pageInfo = PageInfo(
            hasNextPage: page.nextCursor != nil, hasPreviousPage: after != nil, startCursor: edges.first?.cursor,
            endCursor: edges.last?.cursor)
    }
}

/// The caller's notifications, and how many of them are unread (all pages).
public struct NotificationConnection: Sendable {
    var connection: Connection<NotificationNode>
    var unreadCount: Int
    var edges: [Edge<NotificationNode>] { connection.edges }
    var nodes: [NotificationNode] { connection.nodes }
    var pageInfo: PageInfo { connection.pageInfo }
}
