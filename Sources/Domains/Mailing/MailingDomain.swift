import Contracts
public import DomainRuntime
import Hummingbird
import HTTPRuntime
import Messaging
import SMTP

/// Mail through the seam: `/notifications` in the API, and the mail worker, which sends
/// `mail.send` commands over SMTP (with retries through the delay queues), keeps the copy of
/// customers' addresses (user topic) and the notification feed (every mail, and each order status
/// change from the order topic).
public enum MailingDomain {
    public static let module = DomainModule(
        name: "mailing",
        settings: [MailKeys()],
        api: { context in APIPart(routes: [Routes(feed: NotificationFeed(database: context.database))]) },
        workers: [
            WorkerRole(
                name: "mail", abstract: "Send mails over SMTP (RabbitMQ: mail.send) and keep the notification feed (Kafka: user, order).",
                metricsPort: 9404
            ) { context in
                let settings = try MailSettings(settings: context.settings)
                let delivery = try MailDelivery(
                    sender: SMTPClient(configuration: settings.smtp, logger: context.logger), database: context.database, retry: settings.retry)
                context.logger.info("sending mail through \(settings.smtp.server)")
                return WorkerPlan(
                    subscriptions: [
                        Subscription(.kafka(topics: [Destinations.userTopic, Destinations.orderTopic]), handlers: MailDelivery.eventHandlers),
                        // Each send holds two pooled connections (the inbox transaction, and the state
                        // written apart from it): keep 2 x the concurrency of both lanes (4) under
                        // POSTGRES_POOL_SIZE.
                        Subscription(.queue(Destinations.mailQueue.concurrency(3)), handlers: delivery.commandHandlers, retry: settings.retry),
                        // Code mails in a lane of their own: a customer waiting for a code is not
                        // queued behind a burst of order mails (thousands in a sale).
                        Subscription(.queue(Destinations.codeMailQueue), handlers: delivery.commandHandlers, retry: settings.retry),
                    ],
                    services: [
                        RetentionPurge(database: context.database, rows: .mails, retention: settings.retention, logger: context.logger)
                    ])
            }
        ],
        apiModels: [
            APIModel("Notification", NotificationFeed.Notification.self),
            APIModel("Delivery", NotificationFeed.Delivery.self),
            APIModel("NotificationPage", NotificationFeed.FeedPage.self),
        ])

    struct Routes: DomainRoutes {
        let feed: NotificationFeed

        func register<Context: IdentifiedRequestContext>(on router: Router<Context>) {
            NotificationRoutes<Context>(feed: feed).register(on: router)
        }
    }
}
