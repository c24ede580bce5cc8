import Foundation
public import HTTPRuntime
public import Hummingbird
import HTTPTypes

/// `/cart`: the caller's cart, and its checkout.
public struct CartRoutes<Context: IdentifiedRequestContext>: Sendable {
    let service: CartService

    public init(service: CartService) {
        self.service = service
    }

    public func register(on router: Router<Context>) {
        let cart = router.group("cart")
        cart.get(use: show)
        cart.post("items", use: add)
        cart.patch("items/:sku", use: setQuantity)
        cart.delete("items/:sku", use: remove)
        cart.post("checkout", use: checkout)
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        try jsonResponse(try await service.view(of: try context.requireCaller().id))
    }

    @Sendable func add(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        let item = try await request.decodeJSON(CartService.NewItem.self, context: context)
        return try jsonResponse(try await service.add(item, customerID: caller.id))
    }

    @Sendable func setQuantity(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        let change = try await request.decodeJSON(CartService.QuantityChange.self, context: context)
        return try jsonResponse(try await service.setQuantity(try context.parameters.require("sku"), to: change.quantity, customerID: caller.id))
    }

    @Sendable func remove(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        return try jsonResponse(try await service.remove(try context.parameters.require("sku"), customerID: caller.id))
    }

    /// Like `POST /orders`: an Idempotency-Key is required, and the answer is the order (201),
    /// replayed for a repeat.
    @Sendable func checkout(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        let key = try OrderRoutes<Context>.idempotencyKey(request, route: "POST /cart/checkout")
        let cause = OrderStore.Cause.request(
            context.requestID, correlationID: context.correlationID, traceParent: context.traceParent, actor: caller.actor)
        return OrderRoutes<Context>.created(try await service.checkout(caller: caller, idempotencyKey: key, cause: cause))
    }
}
