public import Foundation
public import Hummingbird
import NIOCore

extension Request {
    /// The body decoded as JSON, or a 400 problem saying what is wrong with it. Bodies over the
    /// context's `maxUploadSize` get 413.
    public func decodeJSON<T: Decodable>(_ type: T.Type, context: some RequestContext) async throws -> T {
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        let data = Data(buffer.readableBytesView)
        // JSON can carry NUL only escaped; no text column takes it, so it is refused here.
        if data.range(of: Data(#"\u0000"#.utf8)) != nil {
            throw Problem.badRequest("The body contains a NUL character (\\u0000), which no field accepts.")
        }
        do {
            return try Self.bodyDecoder.decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw Problem.badRequest("The body lacks the field \"\(key.stringValue)\".")
        } catch let DecodingError.typeMismatch(_, context) {
            throw Problem.badRequest("The field \"\(Self.path(context.codingPath))\" has the wrong type.")
        } catch let DecodingError.valueNotFound(_, context) {
            throw Problem.badRequest("The field \"\(Self.path(context.codingPath))\" is null.")
        } catch {
            throw Problem.badRequest("The body is not valid JSON.")
        }
    }

    /// Shared: default options, only read while decoding.
    private static let bodyDecoder = JSONDecoder()

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    /// A query parameter as an integer in `range`, or a 400 problem naming it.
    public func queryInteger(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = uri.queryParameters.get(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw Problem.badRequest("The query parameter \"\(name)\" must be an integer in \(range.lowerBound)...\(range.upperBound).")
        }
        return value
    }

    /// The `cursor` query parameter of an id-keyed list, or a 400 problem when it is not one.
    public func queryCursor() throws -> UUID? {
        try uri.queryParameters.get("cursor").map { text in
            guard let id = UUID(uuidString: text) else { throw Problem.badRequest("The query parameter \"cursor\" is not a cursor this API gave.") }
            return id
        }
    }
}

/// A JSON response with sorted keys.
public func jsonResponse<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
    try jsonResponse(bytes: [UInt8](JSONEncoder.sorted.encode(value)), status: status, headers: headers)
}

/// A response carrying JSON bytes as they are (a stored response being replayed).
public func jsonResponse(bytes: [UInt8], status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
}
