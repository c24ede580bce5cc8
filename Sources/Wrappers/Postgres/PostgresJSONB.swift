public import Foundation

/// A `jsonb` (or `json`) value, kept as its JSON text.
public struct PostgresJSONB: PostgresArrayElement, PostgresDecodable, Hashable {
    public static var postgresType: PostgresDataType { .jsonb }
    public static var postgresArrayType: PostgresDataType { .jsonbArray }

    /// The JSON document as text.
    public var json: String
    public var postgresText: String { json }

    public init(json: String) { self.json = json }

    /// Encodes `value` with `JSONEncoder`.
    public init<Value: Encodable>(_ value: Value, encoder: JSONEncoder = JSONEncoder()) throws {
        self.json = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Decodes the document into `type` with `JSONDecoder`.
    public func decode<Value: Decodable>(_ type: Value.Type, decoder: JSONDecoder = JSONDecoder()) throws -> Value {
        try decoder.decode(type, from: Data(json.utf8))
    }

    public static func decode(postgresText text: Substring, type: PostgresDataType) throws -> PostgresJSONB {
        guard type == .jsonb || type == .json || type == .text || type == .unspecified else {
            throw PostgresDecodingFailure("expected json or jsonb, got \(type)")
        }
        return PostgresJSONB(json: String(text))
    }
}
