import Foundation
public import GRPCCore
import GRPCProtobuf
public import Observability

/// `grpc.health.v1.Health`: SERVING while the process is ready (the checks behind its
/// `/health/ready`: the primary and Redis), for the whole server ("") and for each service it
/// serves; SERVICE_UNKNOWN (Check: NOT_FOUND) for any other name. No credentials needed, so that
/// probes can ask. Answered from the cached readiness report, so probes and watchers cost the
/// dependencies nothing more.
public struct HealthGRPCService: Grpc_Health_V1_Health.ServiceProtocol {
    let readiness: CachedHealthReport
    static let services = Set([""] + GRPCServerService.serviceNames)

    public init(readiness: CachedHealthReport) {
        self.readiness = readiness
    }

    func status() async -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
        await readiness.current().ready ? .serving : .notServing
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
