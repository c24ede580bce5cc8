/// A PostgreSQL type, by its OID. Extensible: any OID can be named with `init(rawValue:)`.
public struct PostgresDataType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Lets the server infer the parameter's type from the statement.
    public static let unspecified = Self(rawValue: 0)
    public static let bool = Self(rawValue: 16)
    public static let bytea = Self(rawValue: 17)
    public static let int8 = Self(rawValue: 20)
    public static let int2 = Self(rawValue: 21)
    public static let int4 = Self(rawValue: 23)
    public static let text = Self(rawValue: 25)
    public static let json = Self(rawValue: 114)
    public static let float4 = Self(rawValue: 700)
    public static let float8 = Self(rawValue: 701)
    public static let varchar = Self(rawValue: 1043)
    public static let timestamp = Self(rawValue: 1114)
    public static let timestamptz = Self(rawValue: 1184)
    public static let numeric = Self(rawValue: 1700)
    public static let uuid = Self(rawValue: 2950)
    public static let jsonb = Self(rawValue: 3802)
    public static let boolArray = Self(rawValue: 1000)
    public static let byteaArray = Self(rawValue: 1001)
    public static let int2Array = Self(rawValue: 1005)
    public static let int4Array = Self(rawValue: 1007)
    public static let textArray = Self(rawValue: 1009)
    public static let int8Array = Self(rawValue: 1016)
    public static let float8Array = Self(rawValue: 1022)
    public static let timestamptzArray = Self(rawValue: 1185)
    public static let numericArray = Self(rawValue: 1231)
    public static let uuidArray = Self(rawValue: 2951)
    public static let jsonbArray = Self(rawValue: 3807)

    public var description: String { "oid \(rawValue)" }
}
