/// Parsing of one-dimensional array literals in PostgreSQL's text output: `{1,2,NULL}`,
/// `{"a b","c\"d"}`.
enum PostgresArrayLiteral {
    static func parse(_ text: Substring) throws -> [String?] {
        var scalars = text.unicodeScalars[...]
        // An explicit lower bound, `[0:2]={...}`, is skipped.
        if scalars.first == "[", let equals = scalars.firstIndex(of: "=") {
            scalars = scalars[scalars.index(after: equals)...]
        }
        guard scalars.first == "{", scalars.last == "}" else {
            throw PostgresDecodingFailure("\"\(text.prefix(40))\" is not an array")
        }
        scalars = scalars.dropFirst().dropLast()
        var elements: [String?] = []
        if scalars.isEmpty { return elements }
        var iterator = scalars.makeIterator()
        var current = String.UnicodeScalarView()
        var quoted = false
        var wasQuoted = false
        while let scalar = iterator.next() {
            if quoted {
                switch scalar {
                case "\\": if let next = iterator.next() { current.append(next) }
                case "\"": quoted = false
                default: current.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"":
                quoted = true
                wasQuoted = true
            case "{":
                throw PostgresDecodingFailure("multi-dimensional arrays are not supported")
            case ",":
                elements.append(element(current, wasQuoted))
                current = String.UnicodeScalarView()
                wasQuoted = false
            case "\\":
                if let next = iterator.next() { current.append(next) }
            default:
                current.append(scalar)
            }
        }
        elements.append(element(current, wasQuoted))
        return elements
    }

    private static func element(_ scalars: String.UnicodeScalarView, _ quoted: Bool) -> String? {
        let value = String(scalars)
        return !quoted && value == "NULL" ? nil : value
    }

    /// The element type of an array type, for decoding its elements.
    static func elementType(of arrayType: PostgresDataType) -> PostgresDataType {
        switch arrayType {
        case .boolArray: .bool
        case .byteaArray: .bytea
        case .int2Array: .int2
        case .int4Array: .int4
        case .textArray: .text
        case .int8Array: .int8
        case .float8Array: .float8
        case .timestamptzArray: .timestamptz
        case .numericArray: .numeric
        case .uuidArray: .uuid
        case .jsonbArray: .jsonb
        default: .unspecified
        }
    }
}
