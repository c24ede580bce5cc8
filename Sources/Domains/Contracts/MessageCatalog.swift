public import Messaging

/// Every message type the domains exchange, the list `docs/asyncapi.yaml` is checked against
/// (`Tests/ContractTests`): each type here must be documented there under its wire name, with the
/// fields its decoder reads.
///
/// A new ``MessagePayload`` type must be added here. The contract test also scans this folder for
/// `MessagePayload` conformances and fails on one missing from this list, since no test can find a
/// type that nothing names.
public enum MessageCatalog {
    public static let all: [any MessagePayload.Type] = [
        // Kafka `user`, keyed by account id.
        UserRegistered.self,
        VerificationRequested.self,
        UserVerified.self,
        UserDeleted.self,
        // Kafka `product`, keyed by SKU.
        ProductCreated.self,
        ProductUpdated.self,
        ProductDeleted.self,
        // Kafka `order`, keyed by order id.
        OrderCreated.self,
        OrderPaid.self,
        OrderCancelled.self,
        OrderCompleted.self,
        StockReserved.self,
        StockRejected.self,
        // RabbitMQ, on the work exchange.
        MailSend.self,
        PaymentReminderDue.self,
        OrderExpiryDue.self,
        VerificationCodeExpiryDue.self,
    ]
}
