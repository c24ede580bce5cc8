import Foundation

/// The decoder of ``SchemaExtractor``: hands out containers that record into `recorder` and
/// answer with placeholders.
struct ShapeDecoder: Decoder {
    let extractor: SchemaExtractor
    let recorder: ShapeRecorder
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        try recorder.use(.keyed, codingPath: codingPath)
        return KeyedDecodingContainer(ShapeKeyedContainer<Key>(extractor: extractor, recorder: recorder, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try recorder.use(.unkeyed, codingPath: codingPath)
        return ShapeUnkeyedContainer(extractor: extractor, recorder: recorder, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        try recorder.use(.single, codingPath: codingPath)
        return ShapeSingleValueContainer(extractor: extractor, recorder: recorder, codingPath: codingPath)
    }
}

// MARK: - Keyed

/// Every key is there (`contains` is true) and never null; `allKeys` is empty (no free keys).
struct ShapeKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let extractor: SchemaExtractor
    let recorder: ShapeRecorder
    let codingPath: [any CodingKey]

    var allKeys: [Key] { [] }
    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool { false }

    private func read<T: Decodable>(_ type: T.Type, _ key: Key, required: Bool) throws -> T {
        let (value, schema) = try extractor.probe(type, codingPath: codingPath + [key])
        recorder.field(key.stringValue, required: required, .done(schema))
        return value
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try read(type, key, required: true) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try read(type, key, required: true) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try read(type, key, required: true) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try read(type, key, required: true) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try read(type, key, required: true) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try read(type, key, required: true) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try read(type, key, required: true) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try read(type, key, required: true) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try read(type, key, required: true) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try read(type, key, required: true) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try read(type, key, required: true) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try read(type, key, required: true) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try read(type, key, required: true) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try read(type, key, required: true) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try read(type, key, required: true) }

    // Each has a default that checks `contains` and `decodeNil` and then calls `decode`, which
    // would record the key as required: all are written out.
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try read(type, key, required: false) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try read(type, key, required: false) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        let nested = ShapeRecorder()
        recorder.field(key.stringValue, required: true, .nested(nested))
        return try ShapeDecoder(extractor: extractor, recorder: nested, codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let nested = ShapeRecorder()
        recorder.field(key.stringValue, required: true, .nested(nested))
        return try ShapeDecoder(extractor: extractor, recorder: nested, codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        let nested = ShapeRecorder()
        recorder.field("super", required: true, .nested(nested))
        return ShapeDecoder(extractor: extractor, recorder: nested, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        let nested = ShapeRecorder()
        recorder.field(key.stringValue, required: true, .nested(nested))
        return ShapeDecoder(extractor: extractor, recorder: nested, codingPath: codingPath + [key])
    }
}

// MARK: - Unkeyed

/// An array of one element: enough to learn the element's type (`Array.init(from:)` reads until
/// `isAtEnd`).
struct ShapeUnkeyedContainer: UnkeyedDecodingContainer {
    let extractor: SchemaExtractor
    let recorder: ShapeRecorder
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(extractor: SchemaExtractor, recorder: ShapeRecorder, codingPath: [any CodingKey]) {
        self.extractor = extractor
        self.recorder = recorder
        self.codingPath = codingPath
    }

    var count: Int? { 1 }
    var isAtEnd: Bool { currentIndex >= 1 }

    mutating func decodeNil() throws -> Bool { false }

    private mutating func read<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, schema) = try extractor.probe(type, codingPath: codingPath + [ElementKey(index: currentIndex)])
        recorder.element(.done(schema))
        currentIndex += 1
        return value
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try read(type) }
    mutating func decode(_ type: String.Type) throws -> String { try read(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try read(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try read(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try read(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try read(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try read(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try read(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try read(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try read(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try read(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try read(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try read(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try read(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try read(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let nested = ShapeRecorder()
        recorder.element(.nested(nested))
        defer { currentIndex += 1 }
        return try ShapeDecoder(extractor: extractor, recorder: nested, codingPath: codingPath + [ElementKey(index: currentIndex)])
            .container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let nested = ShapeRecorder()
        recorder.element(.nested(nested))
        defer { currentIndex += 1 }
        return try ShapeDecoder(extractor: extractor, recorder: nested, codingPath: codingPath + [ElementKey(index: currentIndex)])
            .unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let nested = ShapeRecorder()
        recorder.element(.nested(nested))
        defer { currentIndex += 1 }
        return ShapeDecoder(extractor: extractor, recorder: nested, codingPath: codingPath + [ElementKey(index: currentIndex)])
    }
}

/// An array position in a coding path.
struct ElementKey: CodingKey {
    let index: Int
    init(index: Int) { self.index = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { index = intValue }
    var stringValue: String { "[\(index)]" }
    var intValue: Int? { index }
}

// MARK: - Single value

/// Never null (but notes that `null` was asked about: an `Optional` read with `decode`).
struct ShapeSingleValueContainer: SingleValueDecodingContainer {
    let extractor: SchemaExtractor
    let recorder: ShapeRecorder
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        recorder.takesNull()
        return false
    }

    private func read<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, schema) = try extractor.probe(type, codingPath: codingPath)
        recorder.single(schema)
        return value
    }

    func decode(_ type: Bool.Type) throws -> Bool { try read(type) }
    func decode(_ type: String.Type) throws -> String { try read(type) }
    func decode(_ type: Double.Type) throws -> Double { try read(type) }
    func decode(_ type: Float.Type) throws -> Float { try read(type) }
    func decode(_ type: Int.Type) throws -> Int { try read(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try read(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try read(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try read(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try read(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try read(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try read(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try read(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try read(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try read(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try read(type) }
}
