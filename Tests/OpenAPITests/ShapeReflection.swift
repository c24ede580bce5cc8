import Foundation

/// The JSON shape of a value: what the OpenAPI document says of a schema, and what a Swift
/// model's `Decodable` conformance reads, compared field by field.
indirect enum Shape: Equatable, CustomStringConvertible {
    case string(format: String?)
    case integer
    case number
    case boolean
    case enumeration(Set<String>)
    case array(Shape)
    case object([String: Field])
    /// A free-form value (`additionalProperties`, a JSON value of any type).
    case any

    struct Field: Equatable {
        var shape: Shape
        var required: Bool
    }

    var description: String {
        switch self {
        case .string(let format): format.map { "string(\($0))" } ?? "string"
        case .integer: "integer"
        case .number: "number"
        case .boolean: "boolean"
        case .enumeration(let cases): "enum\(cases.sorted())"
        case .array(let element): "[\(element)]"
        case .object(let fields): "{" + fields.keys.sorted().map { "\($0)\(fields[$0]!.required ? "" : "?")" }.joined(separator: ", ") + "}"
        case .any: "any"
        }
    }
}

/// Reads the shape of a `Decodable` type by decoding it from a decoder that records every call
/// the type's `init(from:)` makes: each key asked for (`decode`: required, `decodeIfPresent`:
/// optional) and the type asked for it, recursively. Arrays are read with one element; enums
/// with `CaseIterable` string cases give their cases.
enum ShapeReflection {
    static func shape<T: Decodable>(of type: T.Type) throws -> Shape {
        try reflect(type).shape
    }

    static func reflect<T: Decodable>(_ type: T.Type) throws -> (shape: Shape, value: T) {
        if let (shape, value) = primitive(type) { return (shape, value) }
        if let wrapper = type as? any ReflectedPrimitive.Type {
            return (wrapper.primitiveShape, try T(from: ReflectingDecoder(recorder: Recorder())))
        }
        if let iterable = type as? any CaseIterable.Type, let first = allCases(iterable).first as? T {
            let cases = allCases(iterable)
            let raw = cases.compactMap { ($0 as? any RawRepresentable)?.rawValue as? String }
            return (.enumeration(Set(raw)), first)
        }
        let recorder = Recorder()
        let value = try T(from: ReflectingDecoder(recorder: recorder))
        return (recorder.shape ?? .any, value)
    }

    private static func allCases<C: CaseIterable>(_ type: C.Type) -> [Any] { Array(type.allCases) }

    private static func primitive<T>(_ type: T.Type) -> (Shape, T)? {
        let table: [(Any.Type, Shape, Any)] = [
            (String.self, .string(format: nil), ""), (Int.self, .integer, 0), (Int64.self, .integer, Int64(0)),
            (Int32.self, .integer, Int32(0)), (Int16.self, .integer, Int16(0)), (Int8.self, .integer, Int8(0)), (UInt.self, .integer, UInt(0)),
            (UInt64.self, .integer, UInt64(0)), (UInt32.self, .integer, UInt32(0)), (UInt16.self, .integer, UInt16(0)),
            (UInt8.self, .integer, UInt8(0)), (Double.self, .number, 0.0), (Float.self, .number, Float(0)), (Bool.self, .boolean, false),
            (Date.self, .string(format: "date-time"), Date(timeIntervalSince1970: 0)), (UUID.self, .string(format: "uuid"), UUID()),
        ]
        for (candidate, shape, value) in table where candidate == type {
            return (shape, value as! T)
        }
        return nil
    }
}

private final class Recorder {
    var shape: Shape?
    var fields: [String: Shape.Field] = [:]

    func record(_ key: String, _ shape: Shape, required: Bool) {
        fields[key] = Shape.Field(shape: shape, required: required)
        self.shape = .object(fields)
    }
}

private struct ReflectingDecoder: Decoder {
    let recorder: Recorder
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if recorder.shape == nil { recorder.shape = .object([:]) }
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
