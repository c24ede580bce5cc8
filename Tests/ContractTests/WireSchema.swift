import Foundation

/// The JSON a `Decodable` type reads, as ``SchemaExtractor`` learns it from the type's
/// `init(from:)`: what `docs/asyncapi.yaml` is compared with (as JSON Schema keywords, ``json``).
indirect enum WireSchema: Equatable, Sendable {
    /// `string`, `integer`, `number` or `boolean`, with a `format` (`uuid`, `date-time`, `int64`...).
    case scalar(String, format: String? = nil)
    /// A string or integer from a fixed set (a `CaseIterable` raw-value enum).
    case enumeration(String, values: [String])
    case array(WireSchema)
    /// A JSON object with free keys (`[String: Value]`).
    case map(WireSchema)
    /// A JSON object with named fields, in the order the decoder asked for them.
    case object([WireProperty])
    /// `null` is taken too (an `Optional` read with `decode`, not `decodeIfPresent`).
    case nullable(WireSchema)
}

struct WireProperty: Equatable, Sendable {
    var name: String
    var schema: WireSchema
    /// Read with `decode` (the key must be there) rather than `decodeIfPresent`.
    var required: Bool
}

extension WireSchema {
    /// JSON Schema keywords, for `deploy/check_asyncapi.py --fields`. An object read field by
    /// field says `additionalProperties: true`: synthesized decoders ignore keys they do not know.
    var json: [String: Any] {
        switch self {
        case .scalar(let type, let format):
            var json: [String: Any] = ["type": type]
            if let format { json["format"] = format }
            return json
        case .enumeration(let type, let values):
            return ["type": type, "enum": values]
        case .array(let items):
            return ["type": "array", "items": items.json]
        case .map(let values):
            return ["type": "object", "additionalProperties": values.json]
        case .object(let properties):
            return [
                "type": "object",
                "properties": Dictionary(properties.map { ($0.name, $0.schema.json) }, uniquingKeysWith: { first, _ in first }),
                "required": properties.filter(\.required).map(\.name),
                "additionalProperties": true,
            ]
        case .nullable(let wrapped):
            var json = wrapped.json
            json["nullable"] = true
            return json
        }
    }

    /// A JSON value this schema describes (for `JSONSerialization`), to decode with the real
    /// decoder: every field there, optional ones only with `optionals`.
    func sample(optionals: Bool = true) -> Any {
        switch self {
        case .scalar(let type, let format):
            return Self.sample(type: type, format: format ?? "")
        case .enumeration(let type, let values):
            let first = values.first ?? ""
            return type == "integer" ? (Int(first) ?? 0) as Any : first as Any
        case .array(let items):
            return [items.sample(optionals: optionals)] as [Any]
        case .map(let values):
            return ["key": values.sample(optionals: optionals)] as [String: Any]
        case .object(let properties):
            let fields = properties.filter { optionals || $0.required }.map { ($0.name, $0.schema.sample(optionals: optionals)) }
            return Dictionary(fields, uniquingKeysWith: { first, _ in first }) as [String: Any]
        case .nullable(let wrapped):
            return wrapped.sample(optionals: optionals)
        }
    }

    private static func sample(type: String, format: String) -> Any {
        switch (type, format) {
        case ("string", "uuid"): return UUID().uuidString
        case ("string", "date-time"): return "2024-05-01T12:00:00Z"
        case ("string", "byte"): return "AA=="
        case ("string", "uri"): return "https://example.com/"
        case ("string", _): return "text"
        case ("integer", _): return 1
        case ("number", _): return 1.5
        case ("boolean", _): return true
        default: return NSNull()
        }
    }

    /// The top-level fields (empty unless an object).
    var properties: [WireProperty] {
        if case .object(let properties) = self { return properties }
        return []
    }

    /// The same schema with top-level field `old` called `new` (the check's negative test).
    func renaming(_ old: String, to new: String) -> WireSchema {
        guard case .object(let properties) = self else { return self }
        return .object(properties.map { property in
            var property = property
            if property.name == old { property.name = new }
            return property
        })
    }
}
