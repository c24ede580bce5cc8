import Contracts
public import DomainRuntime
import Hummingbird
import HTTPRuntime
import Messaging

/// Accounts through the seam: `/auth/*` and `/me` in the API (and the admin account created at
/// start), and the auth worker: verification codes, their expiry, and the purge of accounts
/// never verified.
public enum AuthDomain {
    public static let module = DomainModule(
        name: "auth",
        settings: [AuthKeys()],
        topics: [Destinations.userLayout],
        api: { context in
            let settings = try AuthSettings(settings: context.settings, namespace: context.namespace)
            // The gateway checks tokens with its own AccessTokens, made from the same settings.
            let tokens = await AccessTokens(settings: try AuthSettings.tokens(settings: context.settings))
            let service = AuthService(
                database: context.database, redis: context.redis, tokens: tokens,
                passwords: try await PasswordVault.make(cost: settings.passwordCost), policy: settings.policy, logger: context.logger)
            let admin = settings.admin.map { [AdminBootstrapService(service: service, email: $0.email, password: $0.password, logger: context.logger)] }
            return APIPart(routes: [Routes(service: service)], services: admin ?? [])
        },
        workers: [
            WorkerRole(
                name: "auth", abstract: "Mail verification codes and expire them; purge unverified accounts (Kafka: user; RabbitMQ: code expiry).",
                metricsPort: 9401
            ) { context in
                let settings = try AuthSettings(settings: context.settings, namespace: context.namespace)
                let handlers = AccountLifecycle.handlers(policy: settings.policy)
                return WorkerPlan(
                    subscriptions: [
                        Subscription(.kafka(topics: [Destinations.userTopic]), handlers: handlers),
                        Subscription(.queue(QueueBinding(queue: "auth", routingKeys: [Destinations.codeExpiryKey])), handlers: handlers),
                    ],
                    // The mail worker's queues, so the code mails (and the API's account mails)
                    // the relay publishes have somewhere to wait until a mail worker takes them.
                    declaredQueues: [Destinations.codeMailQueue, Destinations.mailQueue],
                    services: [
                        AccountPurge(database: context.database, policy: settings.policy, interval: settings.purgeInterval, logger: context.logger)
                    ])
            }
        ],
        apiModels: [
            APIModel("RegisterRequest", Credentials.self),
            APIModel("LoginRequest", Credentials.self),
            APIModel("VerificationRequest", VerificationAttempt.self),
            APIModel("ResendRequest", ResendRequest.self),
            APIModel("RefreshRequest", RefreshRequest.self),
            APIModel("AccountView", AccountView.self),
            APIModel("TokenPair", TokenPair.self),
            APIModel("RegistrationReceived", RegistrationReceived.self),
            APIModel("PasswordChange", PasswordChange.self),
            APIModel("PasswordResetRequest", PasswordResetRequest.self),
            APIModel("PasswordReset", PasswordReset.self),
            APIModel("AccountDeletion", AccountDeletion.self),
        ])

    struct Routes: DomainRoutes {
        let service: AuthService

        func register<Context: IdentifiedRequestContext>(on router: Router<Context>) {
            AuthRoutes<Context>(service: service).register(on: router)
        }
    }
}
