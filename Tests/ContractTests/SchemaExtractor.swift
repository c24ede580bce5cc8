import Foundation

/// Learns the JSON a `Decodable` type reads by running its `init(from:)` against a decoder that
/// answers every request with a placeholder and writes down what was asked: each key, whether it
/// was read with `decode` (required) or `decodeIfPresent` (optional), and as what.
///
/// `UUID`, `Date`, `URL`, `Data` and `Decimal` are recognised by type before their own
/// `init(from:)` runs, as `JSONDecoder` does: `UUID`'s own decoding would reject a placeholder
/// string, and a `Date` reads as ``dateSchema`` says (`MessageJSON`'s strategy), not as the number
/// its own `init(from:)` asks for. `[String: Value]` asks for no key at all when the JSON has none,
/// so its value type is taken from the type (``StringKeyedDictionary``). A `CaseIterable` raw-value
/// enum is an enumeration of its raw values.
///
/// State lives in the ``ShapeRecorder`` of each value being decoded, passed down through the
/// decoder and container instances; nothing is global.
struct SchemaExtractor {
    /// How a `Date` is written in message bodies.
    let dateSchema: WireSchema

    /// The JSON `type` reads.
    func schema<T: Decodable>(of type: T.Type) throws -> WireSchema {
        try probe(type, codingPath: []).schema
    }

    /// A placeholder value of `type` and the JSON it reads.
    func probe<T: Decodable>(_ type: T.Type, codingPath: [any CodingKey]) throws -> (value: T, schema: WireSchema) {
        if let known = leaf(type) { return known }
        if let map = type as? any StringKeyedDictionary.Type {
            let values = try map.valueSchema(self, codingPath: codingPath)
            let value = try T(from: ShapeDecoder(extractor: self, recorder: ShapeRecorder(), codingPath: codingPath))
            return (value, .map(values))
        }
        if let cases = try enumeration(type, codingPath: codingPath) { return cases }
        let recorder = ShapeRecorder()
        let value = try T(from: ShapeDecoder(extractor: self, recorder: recorder, codingPath: codingPath))
        return (value, try recorder.schema(of: type, codingPath: codingPath))
    }

    /// The types `JSONDecoder` reads by itself, with a placeholder each.
    private func leaf<T>(_ type: T.Type) -> (value: T, schema: WireSchema)? {
        func make(_ value: Any, _ schema: WireSchema) -> (value: T, schema: WireSchema)? {
            guard let value = value as? T else { return nil }
            return (value, schema)
        }
        let int = "int\(Int.bitWidth)"
        switch ObjectIdentifier(type) {
        case ObjectIdentifier(String.self): return make("", .scalar("string"))
        case ObjectIdentifier(Bool.self): return make(false, .scalar("boolean"))
        case ObjectIdentifier(Double.self): return make(Double(0), .scalar("number", format: "double"))
        case ObjectIdentifier(Float.self): return make(Float(0), .scalar("number", format: "float"))
        case ObjectIdentifier(Int.self): return make(Int(0), .scalar("integer", format: int))
        case ObjectIdentifier(Int8.self): return make(Int8(0), .scalar("integer", format: "int32"))
        case ObjectIdentifier(Int16.self): return make(Int16(0), .scalar("integer", format: "int32"))
        case ObjectIdentifier(Int32.self): return make(Int32(0), .scalar("integer", format: "int32"))
        case ObjectIdentifier(Int64.self): return make(Int64(0), .scalar("integer", format: "int64"))
        case ObjectIdentifier(UInt.self): return make(UInt(0), .scalar("integer", format: int))
        case ObjectIdentifier(UInt8.self): return make(UInt8(0), .scalar("integer", format: "int32"))
        case ObjectIdentifier(UInt16.self): return make(UInt16(0), .scalar("integer", format: "int32"))
        case ObjectIdentifier(UInt32.self): return make(UInt32(0), .scalar("integer", format: "int64"))
        case ObjectIdentifier(UInt64.self): return make(UInt64(0), .scalar("integer", format: "int64"))
        case ObjectIdentifier(UUID.self): return make(UUID(), .scalar("string", format: "uuid"))
        case ObjectIdentifier(Date.self): return make(Date(timeIntervalSince1970: 0), dateSchema)
        case ObjectIdentifier(URL.self): return make(URL(string: "https://example.com/")!, .scalar("string", format: "uri"))
        case ObjectIdentifier(Data.self): return make(Data(), .scalar("string", format: "byte"))
        case ObjectIdentifier(Decimal.self): return make(Decimal(0), .scalar("number"))
        default: return nil
        }
    }

    /// A `CaseIterable` enum with `String` or `Int` raw values: its first case, and its values.
    private func enumeration<T: Decodable>(_ type: T.Type, codingPath: [any CodingKey]) throws -> (value: T, schema: WireSchema)? {
        guard let iterable = type as? any CaseIterable.Type else { return nil }
        let cases = Self.allCases(of: iterable)
        var kind = "string"
        var values: [String] = []
        for item in cases {
            guard let raw = item as? any RawRepresentable else { return nil }
            switch raw.rawValue as Any {
            case let text as String: values.append(text)
            case let number as Int:
                kind = "integer"
                values.append(String(number))
            default: return nil
            }
        }
        guard let first = cases.first as? T else {
            throw ExtractionError(description: "\(type) at \(codingPath.map(\.stringValue)) has no cases")
        }
        return (first, .enumeration(kind, values: values))
    }

    private static func allCases<C: CaseIterable>(of type: C.Type) -> [Any] {
        type.allCases.map { $0 as Any }
    }
}

/// `[String: Value]`, whose value type the extractor cannot learn by decoding.
protocol StringKeyedDictionary {
    static func valueSchema(_ extractor: SchemaExtractor, codingPath: [any CodingKey]) throws -> WireSchema
}

extension Dictionary: StringKeyedDictionary where Key == String, Value: Decodable {
    static func valueSchema(_ extractor: SchemaExtractor, codingPath: [any CodingKey]) throws -> WireSchema {
        try extractor.probe(Value.self, codingPath: codingPath).schema
    }
}

struct ExtractionError: Error, CustomStringConvertible {
    let description: String
}

// MARK: - What one value asked for

/// What one `init(from:)` asked its decoder for. A nested container's fields are known only once
/// the caller is done with it, so it is kept as a recorder of its own and read at the end.
final class ShapeRecorder {
    enum Container {
        case keyed, unkeyed, single
    }

    enum Slot {
        case done(WireSchema)
        case nested(ShapeRecorder)
    }

    private var container: Container?
    private var fields: [(name: String, required: Bool, slot: Slot)] = []
    private var element: Slot?
    private var single: WireSchema?
    private var nullable = false

    func use(_ kind: Container, codingPath: [any CodingKey]) throws {
        if let container, container != kind {
            throw ExtractionError(
                description: "\(codingPath.map(\.stringValue)): a decoder that asks for two kinds of containers (\(container), \(kind)) cannot be described")
        }
        container = kind
    }

    /// A key read from a keyed container; the first reading of a key describes it.
    func field(_ name: String, required: Bool, _ slot: Slot) {
        if let index = fields.firstIndex(where: { $0.name == name }) {
            fields[index].required = fields[index].required || required
            return
        }
        fields.append((name: name, required: required, slot: slot))
    }

    func element(_ slot: Slot) {
        if element == nil { element = slot }
    }

    func single(_ schema: WireSchema) {
        if single == nil { single = schema }
    }

    func takesNull() { nullable = true }

    func schema(of type: Any.Type, codingPath: [any CodingKey]) throws -> WireSchema {
        let path = codingPath.map(\.stringValue)
        switch container {
        case nil:
            throw ExtractionError(description: "\(type) at \(path) reads nothing from its decoder")
        case .keyed:
            return .object(try fields.map { WireProperty(name: $0.name, schema: try $0.slot.schema(codingPath: codingPath), required: $0.required) })
        case .unkeyed:
            guard let element else { throw ExtractionError(description: "\(type) at \(path) reads a JSON array but no element") }
            return .array(try element.schema(codingPath: codingPath))
        case .single:
            guard let single else { throw ExtractionError(description: "\(type) at \(path) reads a single value but not which") }
            return nullable ? .nullable(single) : single
        }
    }
}

extension ShapeRecorder.Slot {
    func schema(codingPath: [any CodingKey]) throws -> WireSchema {
        switch self {
        case .done(let schema): schema
        case .nested(let recorder): try recorder.schema(of: Any.self, codingPath: codingPath)
        }
    }
}
