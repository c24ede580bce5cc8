public import Foundation
public import Messaging

/// `mail.send`: a command to the mail worker, on RabbitMQ. `template` names what to render,
/// `data` fills it in.
public struct MailSend: MessagePayload, Hashable {
    public static let messageType = "mail.send"

    /// The templates the mail worker renders.
    public struct Template: RawRepresentable, Codable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let verification = Template(rawValue: "verification")
        public static let orderConfirmation = Template(rawValue: "order_confirmation")
        public static let paymentReminder = Template(rawValue: "payment_reminder")
        public static let orderCancelled = Template(rawValue: "order_cancelled")
        public static let outOfStock = Template(rawValue: "out_of_stock")
        public static let paymentReceived = Template(rawValue: "payment_received")
        public static let orderCompleted = Template(rawValue: "order_completed")
        /// To the owner of an address someone tried to register again.
        public static let accountExists = Template(rawValue: "account_exists")
        /// A code to set a new password (a secret, like the verification code).
        public static let passwordReset = Template(rawValue: "password_reset")
        public static let passwordChanged = Template(rawValue: "password_changed")
        public static let accountDeleted = Template(rawValue: "account_deleted")
    }

    public var template: Template

    /// A verification mail's command carries the code.
    public var carriesSecret: Bool { template == .verification || template == .passwordReset }
    /// The customer (the account id); the mail worker looks up the address unless `to` is set.
    public var customerID: String
    /// The address, when the sender knows it (the verification mail of an account not yet in
    /// the mail worker's copy).
    public var to: String?
    public var orderID: UUID?
    public var data: [String: String]

    public init(template: Template, customerID: String, to: String? = nil, orderID: UUID? = nil, data: [String: String] = [:]) {
        self.template = template
        self.customerID = customerID
        self.to = to
        self.orderID = orderID
        self.data = data
    }
}
