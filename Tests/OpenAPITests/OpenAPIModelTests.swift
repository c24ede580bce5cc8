import Auth
import Catalog
import DomainKit
import DomainRuntime
import Foundation
import Gateway
import GraphQL
import GraphQLAPI
import Logging
import Mailing
import Ordering
import Postgres
import Redis
import Testing

/// The OpenAPI document (`Sources/Gateway/openapi.json`, served at `/openapi.json`) held to the
/// code it describes: every schema of a model is the shape that model's Swift type reads (its
/// fields, which are required, their types and enum cases), and the document's operations are the
/// router's routes. A field added to a model, an optional one made required, a route added or
/// removed, and the document no longer matches: this test names where.
@Suite("OpenAPI document against the code")
struct OpenAPIModelTests {
    static var document: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes))) as? [String: Any] ?? [:]
    }

    static var schemas: [String: Any] { (document["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:] }

    /// Each schema of the document and the Swift type whose JSON it describes, as the domains
    /// declare them (``DomainModule/apiModels``).
    static var models: [APIModel] {
        (try? DomainSet([AuthDomain.module, CatalogDomain.module, OrderingDomain.module, MailingDomain.module, StorefrontGraphQL.module]).apiModels) ?? []
    }

    /// Schemas that describe no model of a domain, and why.
    static let notModels: [String: String] = [
        "Problem": "RFC 9457 problem documents, written by Problem.encode(to:) with their extension members",
        "Page": "the generic part of every page, included by ProductPage, OrderPage and NotificationPage",
        "Readiness": "the health endpoint's answer, written by Observability",
        "GraphQLRequest": "GraphQL over HTTP's request body, read by GraphQLEndpoint; the GraphQL types are in docs/graphql/schema.graphql",
        "GraphQLResponse": "a GraphQL result, written by the GraphQL engine",
    ]

    @Test("every schema is a model's shape or is listed as not a model")
    func everySchemaIsAccountedFor() {
        let covered = Set(Self.models.map(\.schema)).union(Self.notModels.keys)
        #expect(Set(Self.schemas.keys).subtracting(covered).sorted() == [], "schemas with no model: add them to the table")
        #expect(covered.subtracting(Self.schemas.keys).sorted() == [], "models with no schema in the document")
    }

    @Test("each model's schema is the shape its Swift type reads", arguments: Self.models.map(\.schema))
    func schemaMatchesModel(schema: String) throws {
        let swift = try #require(Self.models.first { $0.schema == schema }).shape()
        let documented = DocumentShapes(schemas: Self.schemas).shape(["$ref": "#/components/schemas/\(schema)"])
        let differences = ShapeComparison.differences(document: documented, swift: swift, at: schema)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    @Test("the comparison catches a field the document lacks, a required field it calls optional, and a wrong type")
    func comparisonCatchesDrift() {
        let sku = Shape.Field(name: "sku", shape: .string(format: nil), required: true)
        let swift = Shape.object(type: "X", fields: [sku, .init(name: "quantity", shape: .integer(format: nil), required: true)])
        let missing = Shape.object(type: "", fields: [sku])
        let optional = Shape.object(type: "", fields: [sku, .init(name: "quantity", shape: .integer(format: nil), required: false)])
        let wrongType = Shape.object(type: "", fields: [sku, .init(name: "quantity", shape: .string(format: nil), required: true)])
        #expect(ShapeComparison.differences(document: missing, swift: swift, at: "X") == ["X.quantity: not in the document"])
        #expect(ShapeComparison.differences(document: optional, swift: swift, at: "X") == ["X.quantity: required in Swift, optional in the document"])
        #expect(ShapeComparison.differences(document: wrongType, swift: swift, at: "X") == ["X.quantity: the document says string, Swift integer"])
        #expect(ShapeComparison.differences(document: swift, swift: swift, at: "X").isEmpty)
    }

    @Test("docs/graphql/schema.graphql is the GraphQL schema the server builds (`emporium graphql schema` writes it)")
    func graphQLSchemaIsCommitted() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let committed = try String(contentsOf: root.appendingPathComponent("docs/graphql/schema.graphql"), encoding: .utf8)
        let built = printSchema(schema: try StorefrontSchema.make().schema)
        #expect(committed.trimmingCharacters(in: .newlines) == built.trimmingCharacters(in: .newlines),
            "run `.build/debug/emporium graphql schema > docs/graphql/schema.graphql`")
    }

    @Test("the document's operations are the router's routes")
    func operationsAreTheRoutes() async throws {
        let logger = Logger(label: "emporium.tests.openapi")
        let pool = PostgresPool(configuration: try PostgresConfiguration(url: "postgresql://nobody@127.0.0.1:1/none"), logger: logger)
        let redis = RedisPool(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1"), logger: logger)
        let domains = try DomainSet([AuthDomain.module, CatalogDomain.module, OrderingDomain.module, MailingDomain.module, StorefrontGraphQL.module])
        let secret = "a-signing-key-of-well-over-thirty-two-bytes-for-tests"
        let settings = try SettingsReader(
            keys: domains.settings.flatMap(\.declarations), variables: ["AUTH_JWT_SECRET": secret, "AUTH_PASSWORD_COST": "minimum"])
        let api = try await domains.api(APIContext(
            settings: settings, database: PostgresRouter(primary: pool, replica: nil, logger: logger), redis: redis, namespace: "openapi",
            logger: logger))
        let tokens = await AccessTokens(settings: AccessTokens.Settings(secret: Array(secret.utf8), issuer: "emporium", audience: "emporium-api"))
        let router = Gateway.router(Gateway.Services(routes: api.routes, tokens: tokens, limiter: nil, readiness: []))
        let routed = Set(router.routes.map { "\($0.method) \($0.path.description.replacingOccurrences(of: #":(\w+)"#, with: "{$1}", options: .regularExpression))" })
        var documented: Set<String> = []
        for (path, item) in Self.document["paths"] as? [String: Any] ?? [:] {
            for method in (item as? [String: Any] ?? [:]).keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        #expect(routed.subtracting(documented).sorted() == [], "routes the document does not describe")
        #expect(documented.subtracting(routed).sorted() == [], "operations of the document no route serves")
    }
}

/// The shapes the document gives its schemas (`$ref`, `allOf`, `enum`, `const`, nullable types).
struct DocumentShapes {
    let schemas: [String: Any]

    func shape(_ schema: [String: Any]) -> Shape {
        if let reference = schema["$ref"] as? String, let name = reference.split(separator: "/").last {
            return shape(schemas[String(name)] as? [String: Any] ?? [:])
        }
        if let parts = schema["allOf"] as? [[String: Any]] {
            // The parts, then the schema's own properties and required names beside `allOf`.
            var rest = schema
            rest["allOf"] = nil
            rest["type"] = "object"
            var fields: [Shape.Field] = []
            for part in parts + [rest] {
                guard case .object(_, let more) = shape(part) else { continue }
                for field in more {
                    // Required in any part is required (JSON Schema's allOf); the later shape refines.
                    let earlier = fields.firstIndex { $0.name == field.name }
                    let required = field.required || earlier.map { fields[$0].required } == true
                    if let earlier { fields.remove(at: earlier) }
                    fields.append(Shape.Field(name: field.name, shape: field.shape, required: required))
                }
            }
            return .object(type: "", fields: fields)
        }
        if let cases = schema["enum"] as? [Any] { return .enumeration(cases.compactMap { $0 as? String }) }
        if let constant = schema["const"] as? String { return .enumeration([constant]) }
        let type = (schema["type"] as? String) ?? (schema["type"] as? [String])?.first { $0 != "null" }
        switch type {
        case "string":
            let format = schema["format"] as? String
            return .string(format: ["date-time", "uuid"].contains(format ?? "") ? format : nil)
        case "integer": return .integer(format: schema["format"] as? String)
        case "number": return .number
        case "boolean": return .boolean
        case "array": return .array(shape(schema["items"] as? [String: Any] ?? [:]))
        case "object":
            guard let properties = schema["properties"] as? [String: Any] else { return .any }
            let required = Set(schema["required"] as? [String] ?? [])
            return .object(type: "", fields: properties.map { property in
                Shape.Field(name: property.key, shape: shape(property.value as? [String: Any] ?? [:]), required: required.contains(property.key))
            })
        default: return .any
        }
    }
}

/// Where a document's shape and a Swift type's differ.
enum ShapeComparison {
    static func differences(document: Shape, swift: Shape, at path: String) -> [String] {
        switch (document, swift) {
        case (.any, _), (_, .any):
            return []
        case (.object(_, let documentedFields), .object(_, let swiftFields)):
            let documented = Dictionary(documentedFields.map { ($0.name, $0) }) { $1 }
            let fields = Dictionary(swiftFields.map { ($0.name, $0) }) { $1 }
            var found: [String] = []
            for name in Set(documented.keys).union(fields.keys).sorted() {
                switch (documented[name], fields[name]) {
                case (nil, _?): found.append("\(path).\(name): not in the document")
                case (_?, nil): found.append("\(path).\(name): in the document, not in the Swift type")
                case (let d?, let s?):
                    if d.required != s.required {
                        found.append("\(path).\(name): required in \(s.required ? "Swift" : "the document"), optional in \(s.required ? "the document" : "Swift")")
                    }
                    found += differences(document: d.shape, swift: s.shape, at: "\(path).\(name)")
                case (nil, nil): break
                }
            }
            return found
        case (.array(let documented), .array(let element)):
            return differences(document: documented, swift: element, at: "\(path)[]")
        case (.enumeration(let documented), .enumeration(let cases)):
            return Set(documented) == Set(cases) ? [] : ["\(path): the document's cases \(documented.sorted()), Swift's \(cases.sorted())"]
        case (.enumeration, .string(nil)):
            // A closed set of words the Swift type keeps as text.
            return []
        case (.string(let documented), .string(let format)):
            return documented == format || (documented == "uuid" && format == nil) ? [] : ["\(path): the document's format \(documented ?? "none"), Swift's \(format ?? "none")"]
        case (.integer, .integer), (.number, .number), (.number, .integer), (.boolean, .boolean):
            return []
        default:
            return ["\(path): the document says \(document), Swift \(swift)"]
        }
    }
}
