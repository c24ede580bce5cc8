public import Logging
public import ServiceLifecycle

/// Creates the configured admin account at start, retrying until the database answers; then
/// waits for shutdown like the other services of the process.
public struct AdminBootstrapService: Service {
    let service: AuthService
    let email: String
    let password: String
    let logger: Logger

    public init(service: AuthService, email: String, password: String, logger: Logger) {
        self.service = service
        self.email = email
        self.password = password
        self.logger = logger
    }

    public func run() async throws {
        var delay = Duration.milliseconds(500)
        attempts: while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                switch try await service.bootstrapAdmin(email: email, password: password) {
                case .created: logger.notice("admin account created from configuration", metadata: ["account.email": "\(email)"])
                case .existed: logger.debug("admin account exists", metadata: ["account.email": "\(email)"])
                case .takenByCustomer:
                    logger.error("AUTH_ADMIN_EMAIL belongs to a customer account; no admin was created", metadata: ["account.email": "\(email)"])
                }
                break attempts
            } catch {
                logger.warning("cannot create the admin account yet; retrying", metadata: ["error": "\(error)"])
                try? await cancelWhenGracefulShutdown { [delay] in try await Task.sleep(for: delay) }
                delay = min(delay * 2, .seconds(30))
            }
        }
        try? await gracefulShutdown()
    }
}
