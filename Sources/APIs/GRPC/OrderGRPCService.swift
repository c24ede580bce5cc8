import DomainKit
import Foundation
public import GRPCCore
import GRPCProtobuf
import HTTPRuntime
public import Logging
public import Ordering
import OrderingCore

/// `emporium.order.v1.OrderService` over the ordering domain's services, with the REST API's
/// rules: a customer reads and places their own orders; a service token's caller names the
/// customer. Placing goes through `OrderService.create`, so an idempotency key means the same
/// here as in `POST /orders` (and the two share keys: a key used over REST replays over gRPC).
public struct OrderGRPCService: Emporium_Order_V1_OrderService.ServiceProtocol {
    let orders: OrderService
    let administration: OrderAdministration
    let callers: GRPCCallers
    let logger: Logger

    public init(orders: OrderService, administration: OrderAdministration, callers: GRPCCallers, logger: Logger) {
        self.orders = orders
        self.administration = administration
        self.callers = callers
        self.logger = logger
    }

    public func getOrder(
        request: ServerRequest<Emporium_Order_V1_GetOrderRequest>, context: ServerContext
    ) async throws -> ServerResponse<Emporium_Order_V1_Order> {
        let caller = try await callers.caller(request.metadata)
        let order = try await RPCErrors.mapped(logger) { () -> Order? in
            guard let id = UUID(uuidString: request.message.id) else { return nil }
            return try await orders.order(id, caller: caller)
        }
        guard let order else { throw RPCError(code: .notFound, message: "There is no order \(request.message.id).") }
        return ServerResponse(message: Self.message(order))
    }

    public func listOrders(
        request: ServerRequest<Emporium_Order_V1_ListOrdersRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Emporium_Order_V1_Order> {
        let caller = try await callers.caller(request.metadata)
        let customer = try GRPCCallers.customer(request.message.customerID, caller: caller)
        let limit = request.message.limit == 0 ? 100 : Int(request.message.limit)
        guard (1...1000).contains(limit) else { throw RPCError(code: .invalidArgument, message: "limit: 1 to 1,000 (0: 100), got \(limit).") }
        let logger = self.logger
        let administration = self.administration
        return StreamingServerResponse { writer in
            // Pages of 100 from the primary, each order written as soon as its page is read.
            try await RPCErrors.mapped(logger) {
                var cursor: UUID?
                var left = limit
                while left > 0 {
                    let page = try await administration.orders(
                        OrderAdministration.Filter(customerID: customer), limit: min(left, 100), after: cursor)
                    for order in page.items { try await writer.write(Self.message(order)) }
                    left -= page.items.count
                    guard let next = page.nextCursor, let id = UUID(uuidString: next) else { break }
                    cursor = id
                }
            }
            return [:]
        }
    }

    public func placeOrder(
        request: ServerRequest<Emporium_Order_V1_PlaceOrderRequest>, context: ServerContext
    ) async throws -> ServerResponse<Emporium_Order_V1_PlaceOrderResponse> {
        let caller = try await callers.caller(request.metadata)
        let message = request.message
        let customer = try GRPCCallers.customer(message.customerID, caller: caller)
        let key = message.idempotencyKey
        guard !key.isEmpty, key.utf8.count <= 255 else {
            throw RPCError(code: .invalidArgument, message: "idempotency_key: required, at most 255 bytes.")
        }
        // The order is the customer's, whoever placed it.
        let owner = Caller(id: customer, role: .customer)
        let placed = try await RPCErrors.mapped(logger) {
            try await orders.create(
                NewOrder(lines: message.lines.map { NewOrder.Line(sku: $0.sku, quantity: Int($0.quantity)) }), idempotencyKey: key,
                caller: owner, cause: .request("grpc-\(UUID().uuidString.lowercased())", correlationID: UUID().uuidString.lowercased(), actor: caller.actor))
        }
        let order = try JSONDecoder.sorted.decode(Order.self, from: Data(placed.order))
        return ServerResponse(message: .with {
            $0.order = Self.message(order)
            $0.replayed = placed.replayed
        })
    }

    static func timestamp(_ date: Date?) -> String {
        date.map { $0.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) } ?? ""
    }

    static func message(_ order: Order) -> Emporium_Order_V1_Order {
        .with {
            $0.id = order.id.uuidString.lowercased()
            $0.customerID = order.customerId
            $0.status = switch order.status {
            case .pending: .pending
            case .paid: .paid
            case .completed: .completed
            case .cancelled: .cancelled
            }
            $0.cancelReason = order.cancelReason?.rawValue ?? ""
            $0.stock = switch order.stock {
            case .awaiting: .awaiting
            case .reserved: .reserved
            case .rejected: .rejected
            }
            $0.currency = order.currency
            $0.totalMinor = order.totalMinor
            $0.lines = order.lines.map { line in
                .with {
                    $0.sku = line.sku
                    $0.name = line.name
                    $0.quantity = Int32(clamping: line.quantity)
                    $0.unitPriceMinor = line.unitPriceMinor
                    $0.lineTotalMinor = line.lineTotalMinor
                }
            }
            $0.createdAt = timestamp(order.createdAt)
            $0.updatedAt = timestamp(order.updatedAt)
            $0.stockDecidedAt = timestamp(order.stockDecidedAt)
        }
    }
}
