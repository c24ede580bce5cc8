import DomainRuntime
import GRPCAPI

/// Every key `emporium` reads: the process's own groups, then each domain's (``Domains/all``).
/// The reference behind `emporium config keys`, docs/configuration.md's tables (`emporium config
/// docs`), the secret checks and the deployment checks (the compose file and the Kubernetes
/// manifests may set only these).
enum ConfigurationKeys {
    /// In the order of the reference's sections.
    static let groups: [any SettingGroup] = [DatabaseKeys(), BrokerKeys(), MessagingKeys(), ProcessKeys(), APIKeys(), GRPCKeys()]
        + Domains.all.settings

    static let all: [any SettingDeclaration] = groups.flatMap(\.declarations)

    static let names: Set<String> = Set(all.map(\.name))
}

extension SettingsReader {
    /// The process's settings: every declared key, from the environment and `EMPORIUM_SECRETS_DIR`.
    init() throws {
        try self.init(keys: ConfigurationKeys.all)
    }
}
