/// Every key `emporium` reads, gathered from the groups that declare them (``SettingGroup``):
/// the reference behind `emporium config keys`, docs/configuration.md's tables (`emporium config
/// docs`), the secret checks and the deployment checks (the compose file and the Kubernetes
/// manifests may set only these). ``Environment`` refuses, in debug builds, to read a key missing
/// here.
enum ConfigurationKeys {
    /// In the order of the reference's sections.
    static let groups: [any SettingGroup] = [
        DatabaseKeys(), BrokerKeys(), MessagingKeys(), ProcessKeys(), APIKeys(), AuthKeys(), OrderKeys(), MailKeys(),
    ]

    static let all: [any SettingDeclaration] = groups.flatMap(\.declarations)

    static let names: Set<String> = Set(all.map(\.name))
}

/// A section of the reference: a struct whose stored properties are the settings it declares,
/// in the order they are listed.
protocol SettingGroup: Sendable {
    /// The section's heading in docs/configuration.md.
    var title: String { get }
}

extension SettingGroup {
    var declarations: [any SettingDeclaration] {
        Mirror(reflecting: self).children.compactMap { $0.value as? any SettingDeclaration }
    }
}
