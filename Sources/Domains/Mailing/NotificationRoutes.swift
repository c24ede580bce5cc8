import Foundation
public import HTTPRuntime
public import Hummingbird

/// `/notifications` (the caller's feed) and `/admin/customers/{id}/notifications` (any
/// customer's, with each mail's delivery state).
public struct NotificationRoutes<Context: IdentifiedRequestContext>: Sendable {
    let feed: NotificationFeed

    public init(feed: NotificationFeed) {
        self.feed = feed
    }

    public func register(on router: Router<Context>) {
        router.get("notifications", use: list)
        router.post("notifications/:id/read", use: markRead)
        router.get("admin/customers/:id/notifications", use: adminList)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        let (limit, cursor) = try Self.page(request)
        return try jsonResponse(try await feed.feed(of: caller.id, limit: limit, after: cursor))
    }

    @Sendable func markRead(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        let text = try context.parameters.require("id")
        guard let id = UUID(uuidString: text), try await feed.markRead(id, customerID: caller.id) else {
            throw Problem.notFound("There is no notification \(text).")
        }
        return Response(status: .noContent)
    }

    @Sendable func adminList(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        let customer = try context.parameters.require("id")
        guard (1...128).contains(customer.utf8.count) else { throw Problem.notFound("There is no customer \(customer).") }
        let (limit, cursor) = try Self.page(request)
        return try jsonResponse(try await feed.feed(of: customer, limit: limit, after: cursor, withDelivery: true))
    }

    static func page(_ request: Request) throws -> (Int, UUID?) {
        let limit = try request.queryInteger("limit", default: 20, range: 1...100)
        return (limit, try request.queryCursor())
    }
}
