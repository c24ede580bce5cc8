/// Who is calling: established at an edge (a bearer token over HTTP, a service token over gRPC)
/// and read by the domains, which never look at how it was established.
public struct Caller: Sendable, Hashable {
    public struct Role: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let customer = Role(rawValue: "customer")
        public static let admin = Role(rawValue: "admin")
    }

    public var id: String
    public var role: Role

    public init(id: String, role: Role) {
        self.id = id
        self.role = role
    }

    public var isAdmin: Bool { role == .admin }

    /// How the caller is recorded as the actor of what it changes: `customer:<id>`, `admin:<id>`.
    public var actor: String { "\(role.rawValue):\(id)" }

    /// Whether the caller may see or act on something `ownerID` owns: its owner, or an admin.
    public func mayAccess(ownedBy ownerID: String) -> Bool { isAdmin || ownerID == id }
}
