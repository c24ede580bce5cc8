public import Foundation
public import Hummingbird
import NIOCore

/// An error answered as an RFC 9457 problem document (`application/problem+json`): a status, a
/// short title, a detail for the person reading it, and extension members where they help a
/// client fix the request (`skus` for unknown products, `errors` for invalid fields).
public struct Problem: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var title: String
    public var detail: String?
    /// Extension members, encoded next to the standard ones.
    public var extensions: [String: ProblemValue]
    /// Extra response headers (`Retry-After`, `Location`).
    public var headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status, _ title: String, detail: String? = nil,
        extensions: [String: ProblemValue] = [:], headers: HTTPFields = [:]
    ) {
        self.status = status
        self.title = title
        self.detail = detail
        self.extensions = extensions
        self.headers = headers
    }

    public static func badRequest(_ detail: String) -> Problem { Problem(.badRequest, "Bad request", detail: detail) }
    public static func notFound(_ detail: String) -> Problem { Problem(.notFound, "Not found", detail: detail) }
    public static func conflict(_ detail: String, extensions: [String: ProblemValue] = [:]) -> Problem {
        Problem(.conflict, "Conflict", detail: detail, extensions: extensions)
    }
    /// 422 with one message per invalid field.
    public static func invalid(_ errors: [String], extensions: [String: ProblemValue] = [:]) -> Problem {
        var members = extensions
        members["errors"] = .strings(errors)
        return Problem(.unprocessableContent, "The request is not valid", detail: errors.joined(separator: "; "), extensions: members)
    }

    /// The problem document's bytes.
    public var document: [UInt8] {
        var members: [String: ProblemValue] = extensions
        members["type"] = .string("about:blank")
        members["title"] = .string(title)
        members["status"] = .int(Int(status.code))
        if let detail { members["detail"] = .string(detail) }
        return (try? JSONEncoder.sorted.encode(members)).map { [UInt8]($0) } ?? []
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: document)))
    }
}

/// A value of a problem document's extension member.
public enum ProblemValue: Encodable, Sendable, Hashable {
    case string(String)
    case int(Int)
    case strings([String])
    case objects([[String: ProblemValue]])

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .strings(let value): try container.encode(value)
        case .objects(let value): try container.encode(value)
        }
    }
}

extension JSONEncoder {
    /// UTC with milliseconds: `2026-11-22T04:05:51.123Z`.
    static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    /// Sorted keys: the same value always encodes to the same bytes. One shared encoder (its
    /// options are only read while encoding, under its own lock): never change its options.
    public static let sorted: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(JSONEncoder.timestampStyle))
        }
        return encoder
    }()
}

extension JSONDecoder {
    /// Reads what ``JSONEncoder/sorted`` wrote (a stored response, replayed through another API).
    /// Shared, as the encoder is.
    public static let sorted: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = try? Date(text, strategy: JSONEncoder.timestampStyle) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a timestamp: \(text)"))
            }
            return date
        }
        return decoder
    }()
}
