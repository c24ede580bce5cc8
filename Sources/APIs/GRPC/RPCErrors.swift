import DomainKit
import Foundation
import GRPCCore
import Logging
import Postgres

/// The one place a domain's refusal becomes a gRPC status: NOT_FOUND, ALREADY_EXISTS (an
/// idempotency key reused with other lines), FAILED_PRECONDITION (the state does not allow it),
/// INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, RESOURCE_EXHAUSTED (a limit),
/// UNAVAILABLE (a key still being worked on, the database out of reach: try again).
enum RPCErrors {
    static func status(_ error: DomainError) -> RPCError {
        let code: RPCError.Code
        switch error.kind {
        case .notFound: code = .notFound
        case .invalid where error.summary == "Idempotency-Key reused": code = .alreadyExists
        case .invalid, .rejected: code = .invalidArgument
        case .forbidden: code = .permissionDenied
        case .unauthorized: code = .unauthenticated
        case .limited: code = .resourceExhausted
        case .busy: code = .unavailable
        case .stale: code = .aborted
        default: code = .failedPrecondition
        }
        var metadata: Metadata = [:]
        for field in error.fields { metadata.addString("\(field.field): \(field.reason)", forKey: "invalid-field") }
        if let retry = error.retryAfter { metadata.addString(String(retry.components.seconds), forKey: "retry-after") }
        return RPCError(code: code, message: error.message, metadata: metadata)
    }

    /// Runs a handler's work so that the call's end reaches it: gRPC signals a passed deadline
    /// or a client gone through the call's cancellation handle, not by cancelling the handler's
    /// task, so the work runs in a task of its own that the handle cancels (and with it the
    /// statement it waits on: the Postgres wrapper sends PQcancel). Domain errors become their
    /// statuses, a database out of reach UNAVAILABLE, the call's end DEADLINE_EXCEEDED (or
    /// CANCELLED), anything else INTERNAL with the details in the log only.
    static func mapped<T: Sendable>(_ logger: Logger, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await work() }
        do {
            return try await withTaskCancellationHandler {
                try await withRPCCancellationHandler {
                    try await task.value
                } onCancelRPC: {
                    task.cancel()
                }
            } onCancel: {
                task.cancel()
            }
        } catch let error as RPCError {
            throw error
        } catch let error as DomainError {
            throw status(error)
        } catch let error as PostgresError where error.sqlState == "57014" || task.isCancelled {
            throw RPCError(code: .deadlineExceeded, message: "The call ended (its deadline passed, or the client left); its statement was cancelled.")
        } catch let error as PostgresError where PostgresOutage.isOutage(error) {
            throw RPCError(code: .unavailable, message: "The database is out of reach for a moment; try again shortly.")
        } catch {
            if task.isCancelled { throw RPCError(code: .deadlineExceeded, message: "The call ended (its deadline passed, or the client left).") }
            logger.error("a gRPC call failed", metadata: ["error": "\(error)"])
            throw RPCError(code: .internalError, message: "An internal error (logged).")
        }
    }
}
