public import GRPCCore
import GRPCNIOTransportHTTP2
public import Logging
public import ServiceLifecycle

/// The gRPC server as a service of the process's group: serves until the group shuts down,
/// then stops taking calls and lets those in flight finish.
public struct GRPCServerService: Service {
    let host: String
    let port: Int
    let services: [any RegistrableRPCService]
    let logger: Logger

    /// What `emporium grpc` serves (health and reflection list these).
    public static let serviceNames = [
        "emporium.stock.v1.StockService", "emporium.order.v1.OrderService", "emporium.storefront.v1.StorefrontService",
        "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
    ]

    public init(host: String, port: Int, services: [any RegistrableRPCService], logger: Logger) {
        self.host = host
        self.port = port
        self.services = services
        self.logger = logger
    }

    public func run() async throws {
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: host, port: port), transportSecurity: .plaintext), services: services)
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                if let address = try await server.listeningAddress {
                    logger.info("grpc listening", metadata: ["grpc.address": "\(address)"])
                }
            }
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
