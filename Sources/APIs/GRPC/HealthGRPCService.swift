import Foundation
public import GRPCCore
import GRPCProtobuf
public import Logging
public import Postgres

/// `grpc.health.v1.Health`: SERVING while the primary answers, for the whole server ("") and for
/// each service it serves; SERVICE_UNKNOWN (Check: NOT_FOUND) for any other name. No credentials
/// needed, so that probes can ask.
public struct HealthGRPCService: Grpc_Health_V1_Health.ServiceProtocol {
    let database: PostgresPool
    let logger: Logger
    static let services = Set([""] + GRPCServerService.serviceNames)

    public init(database: PostgresPool, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    func status() async -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
        do {
            _ = try await database.query("SELECT 1")
            return .serving
        } catch {
            return .notServing
        }
    }

    public func check(
        request: ServerRequest<Grpc_Health_V1_HealthCheckRequest>, context: ServerContext
    ) async throws -> ServerResponse<Grpc_Health_V1_HealthCheckResponse> {
        guard Self.services.contains(request.message.service) else {
            throw RPCError(code: .notFound, message: "No service \(request.message.service) here.")
        }
        let status = await status()
        return ServerResponse(message: .with { $0.status = status })
    }

    /// The status now, then each change (checked every 2 s) until the call ends.
    public func watch(
        request: ServerRequest<Grpc_Health_V1_HealthCheckRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Grpc_Health_V1_HealthCheckResponse> {
        let known = Self.services.contains(request.message.service)
        return StreamingServerResponse { writer in
            var last: Grpc_Health_V1_HealthCheckResponse.ServingStatus?
            while !Task.isCancelled {
                let now = known ? await status() : .serviceUnknown
                if now != last {
                    try await writer.write(.with { $0.status = now })
                    last = now
                }
                try await Task.sleep(for: .seconds(2))
            }
            return [:]
        }
    }
}
