import Foundation
public import HTTPRuntime
public import Hummingbird

/// `/admin/orders`: admins only (403 for customers, 401 without a token).
public struct AdminOrderRoutes<Context: IdentifiedRequestContext>: Sendable {
    let administration: OrderAdministration

    public init(administration: OrderAdministration) {
        self.administration = administration
    }

    public func register(on router: Router<Context>) {
        let orders = router.group("admin/orders")
        orders.get(use: list)
        orders.get(":id", use: show)
        orders.post(":id/cancel", use: cancel)
        orders.post(":id/complete", use: complete)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        let query = request.uri.queryParameters
        var filter = OrderAdministration.Filter()
        if let status = query.get("status") {
            guard let known = OrderStatus(rawValue: status) else {
                throw Problem.badRequest("The query parameter \"status\" must be one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            filter.status = known
        }
        if let customer = query.get("customer") {
            guard (1...128).contains(customer.utf8.count) else { throw Problem.badRequest("The query parameter \"customer\" is 1 to 128 bytes.") }
            filter.customerID = customer
        }
        filter.from = try Self.time(query.get("from"), name: "from")
        filter.to = try Self.time(query.get("to"), name: "to")
        let limit = try request.queryInteger("limit", default: 20, range: 1...100)
        return try jsonResponse(try await administration.orders(filter, limit: limit, after: try request.queryCursor()))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        return try jsonResponse(try await administration.detail(try orderID(context)))
    }

    @Sendable func cancel(_ request: Request, context: Context) async throws -> Response {
        let admin = try context.requireAdmin()
        return try jsonResponse(try await administration.cancel(try orderID(context), cause: cause(context, admin)))
    }

    @Sendable func complete(_ request: Request, context: Context) async throws -> Response {
        let admin = try context.requireAdmin()
        return try jsonResponse(try await administration.complete(try orderID(context), cause: cause(context, admin)))
    }

    private func orderID(_ context: Context) throws -> UUID {
        let text = try context.parameters.require("id")
        guard let id = UUID(uuidString: text) else { throw Problem.notFound("There is no order \(text).") }
        return id
    }

    private func cause(_ context: Context, _ admin: Caller) -> OrderStore.Cause {
        .request(context.requestID, correlationID: context.correlationID, traceParent: context.traceParent, actor: admin.actor)
    }

    /// An RFC 3339 time (`2026-11-22T08:00:00Z`, fractions allowed).
    static func time(_ text: String?, name: String) throws -> Date? {
        guard let text else { return nil }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
        throw Problem.badRequest("The query parameter \"\(name)\" must be a time such as 2026-11-22T08:00:00Z.")
    }
}
