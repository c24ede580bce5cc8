import Auth
import Catalog
import DomainRuntime
import Mailing
import Messaging
import Ordering

/// The domains this executable runs: the one list a new domain is added to
/// (docs/adding-a-domain.md). Everything else is derived from their declarations.
enum Domains {
    static let all: [DomainModule] = [AuthDomain.module, CatalogDomain.module, OrderingDomain.module, MailingDomain.module]

    /// Every Kafka topic, each with its dead-letter topic (`emporium topics`).
    static var topics: [KafkaTopicLayout] { all.flatMap(\.topics) }

    /// Every worker role, in the order of the domains (`emporium worker <role>`).
    static var workers: [WorkerRole] { all.flatMap(\.workers) }

    /// The waits the domains' timers need, from the settings: with the retry levels, the default
    /// delay levels (`MESSAGING_DELAY_LEVELS`).
    static func delays(_ settings: SettingsReader) throws -> [Duration] {
        try all.flatMap { try $0.delays(settings) }
    }
}
