import Foundation
public import HTTPRuntime
public import Hummingbird
public import HTTPTypes

/// `/orders`: a customer's orders. Handlers read the caller from the context, whichever
/// middleware established it.
public struct OrderRoutes<Context: IdentifiedRequestContext>: Sendable {
    let service: OrderService

    public init(service: OrderService) {
        self.service = service
    }

    public static var idempotencyKeyHeader: HTTPField.Name { HTTPField.Name("Idempotency-Key")! }
    public static var replayedHeader: HTTPField.Name { HTTPField.Name("Idempotent-Replayed")! }

    public func register(on router: Router<Context>) {
        let orders = router.group("orders")
        orders.post(use: create)
        orders.get(use: list)
        orders.get(":id", use: show)
        orders.post(":id/pay", use: pay)
        orders.post(":id/cancel", use: cancel)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        let key = try Self.idempotencyKey(request, route: "POST /orders")
        let order = try await request.decodeJSON(NewOrder.self, context: context)
        return Self.created(try await service.create(order, idempotencyKey: key, caller: caller, cause: cause(context, caller)))
    }

    /// The request's Idempotency-Key: required, at most 255 bytes.
    static func idempotencyKey(_ request: Request, route: String) throws -> String {
        guard let key = request.headers[idempotencyKeyHeader], !key.isEmpty else {
            throw Problem.badRequest("\(route) needs an Idempotency-Key header.")
        }
        guard key.utf8.count <= 255 else { throw Problem.badRequest("The Idempotency-Key is longer than 255 bytes.") }
        return key
    }

    /// 201 with the order as it was placed (a repeat: as stored, marked replayed).
    static func created(_ placed: OrderService.Placed) -> Response {
        var headers: HTTPFields = [.location: "/orders/\(placed.id.uuidString.lowercased())"]
        if placed.replayed { headers[Self.replayedHeader] = "true" }
        return jsonResponse(bytes: placed.order, status: .created, headers: headers)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        let limit = try request.queryInteger("limit", default: 20, range: 1...100)
        return try jsonResponse(try await service.orders(of: caller, limit: limit, after: try request.queryCursor()))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        let id = try orderID(context)
        guard let order = try await service.order(id, caller: caller) else { throw OrderRules.notFound(id) }
        return try jsonResponse(order)
    }

    @Sendable func pay(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        return try jsonResponse(try await service.pay(try orderID(context), caller: caller, cause: cause(context, caller)))
    }

    @Sendable func cancel(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        return try jsonResponse(try await service.cancel(try orderID(context), caller: caller, cause: cause(context, caller)))
    }

    private func orderID(_ context: Context) throws -> UUID {
        let text = try context.parameters.require("id")
        // Not a UUID: no such order (404, as for any order the caller may not see).
        guard let id = UUID(uuidString: text) else { throw Problem.notFound("There is no order \(text).") }
        return id
    }

    private func cause(_ context: Context, _ caller: Caller) -> OrderStore.Cause {
        .request(context.requestID, correlationID: context.correlationID, traceParent: context.traceParent, actor: caller.actor)
    }
}
