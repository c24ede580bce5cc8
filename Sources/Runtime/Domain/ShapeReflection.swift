import Foundation

/// The JSON shape of a value as a Swift type reads it: the part of an OpenAPI schema that the
/// type decides (fields, which are required, their types, enum cases), derived from the type's
/// `Decodable` conformance (``ShapeReflection``). `make openapi` writes the API models' schemas
/// in Sources/Gateway/openapi.json from these shapes; descriptions and bounds stay hand-written.
public indirect enum Shape: Equatable, Sendable, CustomStringConvertible {
    /// `date-time` for `Date`, `uuid` for `UUID`, else nil.
    case string(format: String?)
    /// `int64` for `Int64`, else nil.
    case integer(format: String?)
    case number
    case boolean
    /// A `CaseIterable` type's string raw values, in their order.
    case enumeration([String])
    case array(Shape)
    /// An object: the Swift type's name (to refer to its schema) and its fields in the order read.
    case object(type: String, fields: [Field])
    /// A free-form value.
    case any

    public struct Field: Equatable, Sendable {
        public var name: String
        public var shape: Shape
        public var required: Bool

        public init(name: String, shape: Shape, required: Bool) {
            self.name = name
            self.shape = shape
            self.required = required
        }
    }

    public var description: String {
        switch self {
        case .string(let format): format.map { "string(\($0))" } ?? "string"
        case .integer(let format): format.map { "integer(\($0))" } ?? "integer"
        case .number: "number"
        case .boolean: "boolean"
        case .enumeration(let cases): "enum\(cases)"
        case .array(let element): "[\(element)]"
        case .object(let type, let fields): "\(type){" + fields.map { "\($0.name)\($0.required ? "" : "?")" }.joined(separator: ", ") + "}"
        case .any: "any"
        }
    }

    /// As JSON (`emporium openapi shapes`): objects whose type is in `named` are references to
    /// that schema, except at the top.
    public func json(named: [String: String], top: Bool = true) -> [String: Any] {
        switch self {
        case .string(let format): return format.map { ["type": "string", "format": $0] } ?? ["type": "string"]
        case .integer(let format): return format.map { ["type": "integer", "format": $0] } ?? ["type": "integer"]
        case .number: return ["type": "number"]
        case .boolean: return ["type": "boolean"]
        case .enumeration(let cases): return ["type": "enum", "cases": cases]
        case .array(let element): return ["type": "array", "items": element.json(named: named, top: false)]
        case .object(let type, let fields):
            if !top, let schema = named[type] { return ["type": "ref", "schema": schema] }
            return ["type": "object", "fields": fields.map { ["name": $0.name, "required": $0.required, "shape": $0.shape.json(named: named, top: false)] }]
        case .any: return ["type": "any"]
        }
    }
}

/// A schema of the API's document and the Swift type whose JSON it describes: a domain lists its
/// own (``DomainModule/apiModels``).
public struct APIModel: Sendable {
    public let schema: String
    /// `SendableMetatype`, which every type not bound to an actor has: the metatype itself may then
    /// cross isolation (a plain `any Decodable.Type` may not, under Swift 6's checking).
    public let type: any (Decodable & SendableMetatype).Type

    public init(_ schema: String, _ type: any (Decodable & SendableMetatype).Type) {
        self.schema = schema
        self.type = type
    }

    /// The type's shape.
    public func shape() throws -> Shape { try ShapeReflection.shape(of: type) }

    /// The name ``Shape/object(type:fields:)`` carries for the type.
    public var typeName: String { String(reflecting: type) }
}

/// Reads the shape of a `Decodable` type by decoding it from a decoder that records every call
/// the type's `init(from:)` makes: each key asked for (`decode`: required, `decodeIfPresent`:
/// optional) and the type asked for it, recursively. Arrays are read with one element; enums
/// with `CaseIterable` string cases give their cases.
public enum ShapeReflection {
    public static func shape(of type: any Decodable.Type) throws -> Shape {
        try open(type)
    }

    private static func open<T: Decodable>(_ type: T.Type) throws -> Shape {
        try reflect(type).shape
    }

    static func reflect<T: Decodable>(_ type: T.Type) throws -> (shape: Shape, value: T) {
        if let (shape, value) = primitive(type) { return (shape, value) }
        if let wrapper = type as? any ReflectedPrimitive.Type {
            return (wrapper.primitiveShape, try T(from: ReflectingDecoder(recorder: Recorder(type: ""))))
        }
        if let iterable = type as? any CaseIterable.Type, let first = allCases(iterable).first as? T {
            let cases = allCases(iterable)
            let raw = cases.compactMap { ($0 as? any RawRepresentable)?.rawValue as? String }
            return (.enumeration(raw), first)
        }
        let recorder = Recorder(type: String(reflecting: type))
        let value = try T(from: ReflectingDecoder(recorder: recorder))
        return (recorder.shape ?? .any, value)
    }

    private static func allCases<C: CaseIterable>(_ type: C.Type) -> [Any] { Array(type.allCases) }

    private static func primitive<T>(_ type: T.Type) -> (Shape, T)? {
        let table: [(Any.Type, Shape, Any)] = [
            (String.self, .string(format: nil), ""), (Int.self, .integer(format: nil), 0), (Int64.self, .integer(format: "int64"), Int64(0)),
            (Int32.self, .integer(format: "int32"), Int32(0)), (Int16.self, .integer(format: nil), Int16(0)), (Int8.self, .integer(format: nil), Int8(0)),
            (UInt.self, .integer(format: nil), UInt(0)), (UInt64.self, .integer(format: nil), UInt64(0)), (UInt32.self, .integer(format: nil), UInt32(0)),
            (UInt16.self, .integer(format: nil), UInt16(0)), (UInt8.self, .integer(format: nil), UInt8(0)), (Double.self, .number, 0.0), (Float.self, .number, Float(0)), (Bool.self, .boolean, false),
            (Date.self, .string(format: "date-time"), Date(timeIntervalSince1970: 0)), (UUID.self, .string(format: "uuid"), UUID()),
        ]
        for (candidate, shape, value) in table where candidate == type {
            return (shape, value as! T)
        }
        return nil
    }
}

private final class Recorder {
    let type: String
    var shape: Shape?
    var fields: [Shape.Field] = []

    init(type: String) { self.type = type }

    func record(_ key: String, _ shape: Shape, required: Bool) {
        fields.removeAll { $0.name == key }
        fields.append(Shape.Field(name: key, shape: shape, required: required))
        self.shape = .object(type: type, fields: fields)
    }
}

private struct ReflectingDecoder: Decoder {
    let recorder: Recorder
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if recorder.shape == nil { recorder.shape = .object(type: recorder.type, fields: []) }
        return KeyedDecodingContainer(KeyedReflector<Key>(recorder: recorder))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { UnkeyedReflector(recorder: recorder) }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleValueReflector(recorder: recorder) }
}

private struct KeyedReflector<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let recorder: Recorder
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let (shape, value) = try ShapeReflection.reflect(type)
        recorder.record(key.stringValue, shape, required: true)
        return value
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        let (shape, _) = try ShapeReflection.reflect(type)
        recorder.record(key.stringValue, shape, required: false)
        return nil
    }

    // The primitives, through the generic path (which records them).
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(Reflected<Bool>.self, forKey: key).value }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try decodeIfPresent(Reflected<Bool>.self, forKey: key)?.value }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(Reflected<String>.self, forKey: key).value }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try decodeIfPresent(Reflected<String>.self, forKey: key)?.value }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(Reflected<Double>.self, forKey: key).value }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try decodeIfPresent(Reflected<Double>.self, forKey: key)?.value }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decode(Reflected<Float>.self, forKey: key).value }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try decodeIfPresent(Reflected<Float>.self, forKey: key)?.value }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(Reflected<Int>.self, forKey: key).value }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try decodeIfPresent(Reflected<Int>.self, forKey: key)?.value }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decode(Reflected<Int8>.self, forKey: key).value }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try decodeIfPresent(Reflected<Int8>.self, forKey: key)?.value }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decode(Reflected<Int16>.self, forKey: key).value }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try decodeIfPresent(Reflected<Int16>.self, forKey: key)?.value }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(Reflected<Int32>.self, forKey: key).value }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try decodeIfPresent(Reflected<Int32>.self, forKey: key)?.value }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(Reflected<Int64>.self, forKey: key).value }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try decodeIfPresent(Reflected<Int64>.self, forKey: key)?.value }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(Reflected<UInt>.self, forKey: key).value }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try decodeIfPresent(Reflected<UInt>.self, forKey: key)?.value }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decode(Reflected<UInt8>.self, forKey: key).value }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try decodeIfPresent(Reflected<UInt8>.self, forKey: key)?.value }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decode(Reflected<UInt16>.self, forKey: key).value }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try decodeIfPresent(Reflected<UInt16>.self, forKey: key)?.value }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(Reflected<UInt32>.self, forKey: key).value }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try decodeIfPresent(Reflected<UInt32>.self, forKey: key)?.value }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(Reflected<UInt64>.self, forKey: key).value }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try decodeIfPresent(Reflected<UInt64>.self, forKey: key)?.value }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.typeMismatch(type, .init(codingPath: [key], debugDescription: "nested containers are not reflected"))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [key], debugDescription: "nested containers are not reflected"))
    }

    func superDecoder() throws -> any Decoder { ReflectingDecoder(recorder: recorder) }
    func superDecoder(forKey key: Key) throws -> any Decoder { ReflectingDecoder(recorder: recorder) }
}

/// One element, then the end.
private struct UnkeyedReflector: UnkeyedDecodingContainer {
    let recorder: Recorder
    var codingPath: [any CodingKey] { [] }
    var count: Int? { 1 }
    var isAtEnd: Bool { currentIndex > 0 }
    var currentIndex = 0

    init(recorder: Recorder) { self.recorder = recorder }

    mutating func decodeNil() throws -> Bool { false }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (shape, value) = try ShapeReflection.reflect(type)
        recorder.shape = .array(shape)
        currentIndex += 1
        return value
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try decode(Reflected<Bool>.self).value }
    mutating func decode(_ type: String.Type) throws -> String { try decode(Reflected<String>.self).value }
    mutating func decode(_ type: Double.Type) throws -> Double { try decode(Reflected<Double>.self).value }
    mutating func decode(_ type: Float.Type) throws -> Float { try decode(Reflected<Float>.self).value }
    mutating func decode(_ type: Int.Type) throws -> Int { try decode(Reflected<Int>.self).value }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try decode(Reflected<Int8>.self).value }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try decode(Reflected<Int16>.self).value }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try decode(Reflected<Int32>.self).value }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try decode(Reflected<Int64>.self).value }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try decode(Reflected<UInt>.self).value }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decode(Reflected<UInt8>.self).value }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decode(Reflected<UInt16>.self).value }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decode(Reflected<UInt32>.self).value }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decode(Reflected<UInt64>.self).value }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.typeMismatch(type, .init(codingPath: [], debugDescription: "nested containers are not reflected"))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "nested containers are not reflected"))
    }

    mutating func superDecoder() throws -> any Decoder { ReflectingDecoder(recorder: recorder) }
}

private struct SingleValueReflector: SingleValueDecodingContainer {
    let recorder: Recorder
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (shape, value) = try ShapeReflection.reflect(type)
        recorder.shape = shape
        return value
    }

    func decode(_ type: Bool.Type) throws -> Bool { try decode(Reflected<Bool>.self).value }
    func decode(_ type: String.Type) throws -> String { try decode(Reflected<String>.self).value }
    func decode(_ type: Double.Type) throws -> Double { try decode(Reflected<Double>.self).value }
    func decode(_ type: Float.Type) throws -> Float { try decode(Reflected<Float>.self).value }
    func decode(_ type: Int.Type) throws -> Int { try decode(Reflected<Int>.self).value }
    func decode(_ type: Int8.Type) throws -> Int8 { try decode(Reflected<Int8>.self).value }
    func decode(_ type: Int16.Type) throws -> Int16 { try decode(Reflected<Int16>.self).value }
    func decode(_ type: Int32.Type) throws -> Int32 { try decode(Reflected<Int32>.self).value }
    func decode(_ type: Int64.Type) throws -> Int64 { try decode(Reflected<Int64>.self).value }
    func decode(_ type: UInt.Type) throws -> UInt { try decode(Reflected<UInt>.self).value }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decode(Reflected<UInt8>.self).value }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decode(Reflected<UInt16>.self).value }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decode(Reflected<UInt32>.self).value }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decode(Reflected<UInt64>.self).value }
}

/// A primitive asked for through a non-generic `decode` overload, routed to the generic one.
private struct Reflected<Value: Decodable>: Decodable {
    let value: Value
    init(from decoder: any Decoder) throws { value = try ShapeReflection.reflect(Value.self).value }
}

private protocol ReflectedPrimitive {
    static var primitiveShape: Shape { get }
}

extension Reflected: ReflectedPrimitive {
    static var primitiveShape: Shape { (try? ShapeReflection.reflect(Value.self).shape) ?? .any }
}
