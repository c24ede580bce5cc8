import Foundation
public import HTTPRuntime
public import Hummingbird
import HTTPTypes

/// `/auth/*` and `/me`.
public struct AuthRoutes<Context: IdentifiedRequestContext>: Sendable {
    let service: AuthService

    public init(service: AuthService) {
        self.service = service
    }

    public func register(on router: Router<Context>) {
        let auth = router.group("auth")
        auth.post("register", use: register)
        auth.post("verify", use: verify)
        auth.post("resend", use: resend)
        auth.post("login", use: login)
        auth.post("refresh", use: refresh)
        auth.post("logout", use: logout)
        auth.post("password-reset", use: requestPasswordReset)
        auth.post("password-reset/confirm", use: resetPassword)
        router.get("me", use: me)
        router.delete("me", use: deleteMe)
        router.post("me/password", use: changePassword)
    }

    @Sendable func register(_ request: Request, context: Context) async throws -> Response {
        let credentials = try await request.decodeJSON(Credentials.self, context: context)
        return try jsonResponse(try await service.register(credentials, origin: origin(request, context)), status: .accepted)
    }

    @Sendable func verify(_ request: Request, context: Context) async throws -> Response {
        let attempt = try await request.decodeJSON(VerificationAttempt.self, context: context)
        return try jsonResponse(try await service.verify(attempt, origin: origin(request, context)))
    }

    @Sendable func resend(_ request: Request, context: Context) async throws -> Response {
        let body = try await request.decodeJSON(ResendRequest.self, context: context)
        try await service.resend(body, origin: origin(request, context))
        return Response(status: .accepted)
    }

    @Sendable func login(_ request: Request, context: Context) async throws -> Response {
        let credentials = try await request.decodeJSON(Credentials.self, context: context)
        return try jsonResponse(try await service.login(credentials, origin: origin(request, context)), headers: [.cacheControl: "no-store"])
    }

    @Sendable func refresh(_ request: Request, context: Context) async throws -> Response {
        let body = try await request.decodeJSON(RefreshRequest.self, context: context)
        return try jsonResponse(try await service.refresh(body, origin: origin(request, context)), headers: [.cacheControl: "no-store"])
    }

    @Sendable func logout(_ request: Request, context: Context) async throws -> Response {
        let body = try await request.decodeJSON(RefreshRequest.self, context: context)
        try await service.logout(body)
        return Response(status: .noContent)
    }

    @Sendable func me(_ request: Request, context: Context) async throws -> Response {
        try jsonResponse(try await service.me(try context.requireCaller()))
    }

    @Sendable func changePassword(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        let change = try await request.decodeJSON(PasswordChange.self, context: context)
        return try jsonResponse(
            try await service.changePassword(change, caller: caller, origin: origin(request, context)), headers: [.cacheControl: "no-store"])
    }

    @Sendable func requestPasswordReset(_ request: Request, context: Context) async throws -> Response {
        let body = try await request.decodeJSON(PasswordResetRequest.self, context: context)
        try await service.requestPasswordReset(body, origin: origin(request, context))
        return Response(status: .accepted)
    }

    @Sendable func resetPassword(_ request: Request, context: Context) async throws -> Response {
        let body = try await request.decodeJSON(PasswordReset.self, context: context)
        try await service.resetPassword(body, origin: origin(request, context))
        return Response(status: .noContent)
    }

    @Sendable func deleteMe(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try await request.decodeJSON(AccountDeletion.self, context: context)
        try await service.deleteAccount(body, caller: caller, origin: origin(request, context))
        return Response(status: .noContent)
    }

    private func origin(_ request: Request, _ context: Context) -> RequestOrigin {
        RequestOrigin(
            requestID: context.requestID, correlationID: context.correlationID, client: context.clientAddress,
            traceParent: context.traceParent)
    }
}
