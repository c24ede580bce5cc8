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
        guard let key = request.headers[Self.idempotencyKeyHeader], !key.isEmpty else {
            throw Problem.badRequest("POST /orders needs an Idempotency-Key header.")
        }
        guard key.utf8.count <= 255 else { throw Problem.badRequest("The Idempotency-Key is longer than 255 bytes.") }
        let order = try await request.decodeJSON(NewOrder.self, context: context)
        let stored = try await service.create(order, idempotencyKey: key, caller: caller, cause: cause(context, caller))
        var headers: HTTPFields = [:]
        if stored.replayed { headers[Self.replayedHeader] = "true" }
        if let id = try? JSONDecoder().decode(OrderID.self, from: Data(stored.body)).id {
            headers[.location] = "/orders/\(id.uuidString.lowercased())"
        }
        return jsonResponse(bytes: stored.body, status: HTTPResponse.Status(code: stored.status), headers: headers)
    }

    private struct OrderID: Decodable { var id: UUID }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        let limit = try request.queryInteger("limit", default: 20, range: 1...100)
        return try jsonResponse(try await service.orders(of: caller, limit: limit, after: try request.queryCursor()))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        let id = try orderID(context)
        guard let order = try await service.order(id, caller: caller) else { throw Self.notFound(id) }
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

    private static func notFound(_ id: UUID) -> Problem { Problem.notFound("There is no order \(id.uuidString.lowercased()).") }

    private func cause(_ context: Context, _ caller: Caller) -> OrderStore.Cause {
        .request(context.requestID, correlationID: context.correlationID, traceParent: context.traceParent, actor: "\(caller.role.rawValue):\(caller.id)")
    }
}
