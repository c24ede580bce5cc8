import Auth
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A plain HTTP client for the fleet's API. Admins and customers get access tokens signed with
/// the fleet's key (as if they had logged in); `.bearer` sends a token as it is.
struct APIClient: Sendable {
    let baseURL: URL

    enum Identity: Sendable {
        case anonymous
        case admin
        case customer(String)
        case bearer(String)
    }

    static let tokens = TokenMint()

    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try APIClient.decoder.decode(T.self, from: body)
        }

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? {
            headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a timestamp: \(text)"))
            }
            return date
        }
        return decoder
    }()

    func send(
        _ method: String, _ path: String, as identity: Identity = .anonymous, headers: [String: String] = [:], raw: Data? = nil
    ) async throws -> Reply {
        var request = URLRequest(url: URL(string: path, relativeTo: baseURL)!)
        request.httpMethod = method
        request.timeoutInterval = 30
        switch identity {
        case .anonymous: break
        case .admin:
            request.setValue("Bearer \(try await Self.tokens.token(subject: "test-admin", role: "admin"))", forHTTPHeaderField: "Authorization")
        case .customer(let id):
            request.setValue("Bearer \(try await Self.tokens.token(subject: id, role: "customer"))", forHTTPHeaderField: "Authorization")
        case .bearer(let token):
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let raw {
            request.httpBody = raw
            if request.value(forHTTPHeaderField: "Content-Type") == nil {
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields { fields["\(key)"] = "\(value)" }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }

    func send<Body: Encodable>(
        _ method: String, _ path: String, as identity: Identity = .anonymous, headers: [String: String] = [:], body: Body
    ) async throws -> Reply {
        try await send(method, path, as: identity, headers: headers, raw: try JSONEncoder().encode(body))
    }
}

/// Signs access tokens with the fleet's key, as the API's login does.
final class TokenMint: Sendable {
    private let settings = AccessTokens.Settings(
        secret: Array(PipelineFleet.jwtSecret.utf8), issuer: "emporium", audience: "emporium-api", lifetime: .seconds(3600))

    func token(subject: String, role: String, settings custom: AccessTokens.Settings? = nil, now: Date = Date()) async throws -> String {
        try await AccessTokens(settings: custom ?? settings).issue(subject: subject, role: role, now: now).token
    }

    var defaultSettings: AccessTokens.Settings { settings }
}

struct NewProductBody: Encodable {
    var sku: String
    var name: String
    var priceMinor: Int
    var currency: String
    var stock: Int
}

struct NewOrderBody: Encodable, Sendable {
    struct Line: Encodable, Sendable {
        var sku: String
        var quantity: Int
    }
    var lines: [Line]

    init(_ lines: [(String, Int)]) {
        self.lines = lines.map { Line(sku: $0.0, quantity: $0.1) }
    }
}

/// The order fields the tests look at.
struct OrderReply: Decodable, Sendable {
    var id: UUID
    var customerId: String
    var status: String
    var cancelReason: String?
    var stock: String
    var totalMinor: Int
    var createdAt: Date
    var stockDecidedAt: Date?
}
