/// A section of the configuration reference: a struct whose stored properties are the settings it
/// declares, in the order they are listed. A domain declares its own (``DomainModule/settings``).
public protocol SettingGroup: Sendable {
    /// The section's heading in docs/configuration.md.
    var title: String { get }
}

extension SettingGroup {
    /// The settings of the group, in declaration order.
    public var declarations: [any SettingDeclaration] {
        Mirror(reflecting: self).children.compactMap { $0.value as? any SettingDeclaration }
    }
}
