public import HTTPRuntime
public import Hummingbird
public import HTTPTypes

/// The development stand-in for authentication, until the JWT middleware lands: the caller is
/// taken from `X-Customer-Id` (and `X-Customer-Role: admin` for an admin). Only this middleware
/// changes when tokens arrive; handlers read `context.caller` either way. The API says so at
/// start-up, and `API_IDENTITY=headers` must be set to run it.
public struct HeaderIdentityMiddleware<Context: IdentifiedRequestContext>: RouterMiddleware {
    public static var customerHeader: HTTPField.Name { HTTPField.Name("X-Customer-Id")! }
    public static var roleHeader: HTTPField.Name { HTTPField.Name("X-Customer-Role")! }

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let id = request.headers[Self.customerHeader] {
            guard (1...128).contains(id.utf8.count), id.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw Problem(.unauthorized, "Unauthorized", detail: "X-Customer-Id must be 1 to 128 printable ASCII characters.")
            }
            let role: Caller.Role
            switch request.headers[Self.roleHeader] {
            case nil, "customer": role = .customer
            case "admin": role = .admin
            case let other?:
                throw Problem(.unauthorized, "Unauthorized", detail: "X-Customer-Role must be customer or admin, not \(other).")
            }
            context.caller = Caller(id: id, role: role)
        }
        return try await next(request, context)
    }
}
