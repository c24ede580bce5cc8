import Catalog
import Foundation
public import Graphiti
import Mailing
import Ordering
import OrderingCore

/// The storefront's GraphQL schema, built from the Swift types (docs/graphql/schema.graphql is
/// its SDL, `emporium graphql schema`; a test holds the two equal).
public enum StorefrontSchema {
    public static func make() throws -> Schema<StorefrontResolver, GraphContext> {
        try Schema<StorefrontResolver, GraphContext> {
            Scalar(DateTime.self, as: "DateTime")
                .description("An instant, as ISO 8601 text with fractional seconds and an offset (2026-12-04T09:30:00.000Z).")
            Scalar(Int64.self, as: "Long")
                .description("A whole number that may pass 2^31: amounts in a currency's minor units.")

            Enum(OrderStatus.self) {
                Value(.pending).description("Placed, not paid; reminders go out until it expires.")
                Value(.paid).description("Paid; completed when its expiry comes.")
                Value(.completed).description("Fulfilled: the reserved units are sold.")
                Value(.cancelled).description("Cancelled; see cancelReason.")
            }
            Enum(CancelReason.self) {
                Value(.customer).description("The customer cancelled it.")
                Value(.admin).description("An admin cancelled it.")
                Value(.outOfStock).description("The stock could not be reserved for every line.")
                Value(.expired).description("Not paid before its expiry.")
            }
            Enum(StockDecision.self) {
                Value(.awaiting).description("The product worker has not decided yet.")
                Value(.reserved).description("Every line's units are set aside.")
                Value(.rejected).description("Some line's stock was short.")
            }
            Enum(CartStatus.self) {
                Value(.open).description("Items may be added, changed and removed.")
                Value(.locked).description("A checkout holds it; it reopens if the order is cancelled.")
            }

            Type(ProductNode.self, as: "Product") {
                Field("sku", at: \.sku)
                Field("name", at: \.name)
                Field("description", at: \.description)
                Field("priceMinor", at: \.priceMinor).description("The price in the currency's minor units.")
                Field("currency", at: \.currency).description("ISO 4217 code.")
                Field("stock", at: \.stock).description("Units available now (reservations taken off).")
                Field("inStock", at: \.inStock)
                Field("version", at: \.version).description("Goes up by one with each change.")
                Field("createdAt", at: \.createdAt)
                Field("updatedAt", at: \.updatedAt)
            }.description("A product of the catalog, with its stock.")

            Type(CartLineNode.self, as: "CartLine") {
                Field("sku", at: \.sku)
                Field("name", at: \.name).description("Null once the product is deleted.")
                Field("quantity", at: \.quantity)
                Field("unitPriceMinor", at: \.unitPriceMinor).description("Today's price (the price when added, if the product is gone).")
                Field("currency", at: \.currency)
                Field("lineTotalMinor", at: \.lineTotalMinor)
                Field("addedPriceMinor", at: \.addedPriceMinor)
                Field("deleted", at: \.deleted).description("The product was deleted since: the line cannot be checked out.")
                Field("repriced", at: \.repriced).description("The price changed since the line was added.")
                Field("rejectedRequested", at: \.rejectedRequested).description("Set when the last checkout was refused for this line's stock: the units asked for.")
                Field("rejectedAvailable", at: \.rejectedAvailable).description("... and the units there were.")
                Field("product", at: CartLineNode.product).description("The product now, with its stock (null once deleted).")
            }
            Type(CartNode.self, as: "Cart") {
                Field("status", at: \.status)
                Field("lines", at: \.lines)
                Field("totalMinor", at: \.totalMinor).description("Over the lines that can be ordered, when they share one currency.")
                Field("currency", at: \.currency)
            }.description("The caller's cart.")

            Type(OrderLineNode.self, as: "OrderLine") {
                Field("sku", at: \.sku)
                Field("name", at: \.name).description("As it was when ordered.")
                Field("quantity", at: \.quantity)
                Field("unitPriceMinor", at: \.unitPriceMinor).description("As it was when ordered.")
                Field("lineTotalMinor", at: \.lineTotalMinor)
                Field("product", at: OrderLineNode.product).description("The product now, with its stock (null once deleted).")
            }
            Type(TransitionNode.self, as: "Transition") {
                Field("from", at: \.from).description("Null for the order's creation.")
                Field("to", at: \.to)
                Field("reason", at: \.reason)
                Field("at", at: \.at)
                Field("actor", at: TransitionNode.actor).description("Admins only: customer:<id>, admin:<id>, or the worker.")
                Field("causeKind", at: TransitionNode.causeKind).description("Admins only: request or message.")
                Field("causeId", at: TransitionNode.causeId).description("Admins only: the request id or the message id.")
                Field("messageType", at: TransitionNode.messageType).description("Admins only: the type of the message behind it.")
            }.description("One status change of an order.")
            Type(OrderNode.self, as: "Order") {
                Field("id", at: \.id)
                Field("customerId", at: \.customerId)
                Field("status", at: \.status)
                Field("cancelReason", at: \.cancelReason)
                Field("stock", at: \.stock)
                Field("stockDecidedAt", at: \.stockDecidedAt)
                Field("currency", at: \.currency)
                Field("totalMinor", at: \.totalMinor)
                Field("lines", at: \.lines)
                Field("history", at: OrderNode.history).description("Every status change, oldest first.")
                Field("createdAt", at: \.createdAt)
                Field("updatedAt", at: \.updatedAt)
            }
            Type(NotificationNode.self, as: "Notification") {
                Field("id", at: \.id)
                Field("kind", at: \.kind).description("mail or order_status.")
                Field("title", at: \.title)
                Field("body", at: \.body)
                Field("orderId", at: \.orderId)
                Field("orderStatus", at: \.orderStatus)
                Field("occurredAt", at: \.occurredAt)
                Field("read", at: \.read)
            }

            Type(PageInfo.self) {
                Field("hasNextPage", at: \.hasNextPage)
                Field("hasPreviousPage", at: \.hasPreviousPage).description("True when the page started after a cursor.")
                Field("startCursor", at: \.startCursor)
                Field("endCursor", at: \.endCursor).description("Pass as `after` for the next page.")
            }
            Type(Edge<ProductNode>.self, as: "ProductEdge") {
                Field("cursor", at: \.cursor)
                Field("node", at: \.node)
            }
            Type(Connection<ProductNode>.self, as: "ProductConnection") {
                Field("edges", at: \.edges)
                Field("nodes", at: \.nodes)
                Field("pageInfo", at: \.pageInfo)
            }
            Type(Edge<OrderNode>.self, as: "OrderEdge") {
                Field("cursor", at: \.cursor)
                Field("node", at: \.node)
            }
            Type(Connection<OrderNode>.self, as: "OrderConnection") {
                Field("edges", at: \.edges)
                Field("nodes", at: \.nodes)
                Field("pageInfo", at: \.pageInfo)
            }
            Type(Edge<NotificationNode>.self, as: "NotificationEdge") {
                Field("cursor", at: \.cursor)
                Field("node", at: \.node)
            }
            Type(NotificationConnection.self) {
                Field("edges", at: \.edges)
                Field("nodes", at: \.nodes)
                Field("pageInfo", at: \.pageInfo)
                Field("unreadCount", at: \.unreadCount).description("The caller's unread notifications, all pages.")
            }

            Input(StorefrontResolver.ProductFilter.self, as: "ProductFilter") {
                InputField("text", at: \.text).description("Part of the name or SKU, any case.")
                InputField("currency", at: \.currency)
                InputField("minPrice", at: \.minPrice).description("In minor units, inclusive.")
                InputField("maxPrice", at: \.maxPrice).description("In minor units, inclusive.")
                InputField("inStock", at: \.inStock).description("Only products with stock > 0.")
            }

            Query {
                Field("products", at: StorefrontResolver.products) {
                    Argument("filter", at: \.filter)
                    Argument("first", at: \.first).defaultValue(StorefrontResolver.defaultPageSize).description("1 to 100.")
                    Argument("after", at: \.after).description("The endCursor of the previous page.")
                }.description("Live products in SKU order, a page at a time.")
                Field("product", at: StorefrontResolver.product) {
                    Argument("sku", at: \.sku)
                }.description("A live product, or null.")
                Field("cart", at: StorefrontResolver.cart).description("The caller's cart (needs a bearer token).")
                Field("orders", at: StorefrontResolver.orders) {
                    Argument("first", at: \.first).defaultValue(StorefrontResolver.defaultPageSize).description("1 to 100.")
                    Argument("after", at: \.after).description("The endCursor of the previous page.")
                    Argument("customerId", at: \.customerId).description("Admins: any customer's (omit for everyone's); customers: their own only.")
                    Argument("status", at: \.status)
                }.description("Orders, newest first (needs a bearer token).")
                Field("order", at: StorefrontResolver.order) {
                    Argument("id", at: \.id)
                }.description("One order the caller may see, or null.")
                Field("notifications", at: StorefrontResolver.notifications) {
                    Argument("first", at: \.first).defaultValue(StorefrontResolver.defaultPageSize).description("1 to 100.")
                    Argument("after", at: \.after).description("The endCursor of the previous page.")
                }.description("The caller's notifications, newest first (needs a bearer token).")
            }
        }
    }
}
