public import DomainKit
import Foundation
public import GraphQL
import Graphiti
public import HTTPRuntime
public import Hummingbird
public import Logging
import Postgres

/// `/graphql`, as the GraphQL-over-HTTP specification has it: `POST` with a JSON body
/// (`query`, `operationName`, `variables`) and `GET` with the same as query parameters (queries
/// only). Behind the gateway's middleware like every route: the same bearer tokens, the same rate
/// limits. A query is parsed, held to the depth limit, validated, held to the page sizes and the
/// complexity limit, and only then run; every refusal is a GraphQL error with an
/// `extensions.code`, never a 5xx.
///
/// The answer is `application/graphql-response+json` when the client accepts it (then a request
/// that cannot run is a 400), otherwise `application/json` (then it is a 200, as the
/// specification asks for that media type).
public struct GraphQLEndpoint: Sendable {
    let resolver: StorefrontResolver
    let schema: Schema<StorefrontResolver, GraphContext>
    let limits: QueryLimits
    let logger: Logger
    let documents = DocumentCache()

    public init(resolver: StorefrontResolver, limits: QueryLimits, logger: Logger) throws {
        self.resolver = resolver
        self.schema = try StorefrontSchema.make()
        self.limits = limits
        self.logger = logger
    }

    public func register<Context: IdentifiedRequestContext>(on router: Router<Context>) {
        router.get("graphql") { request, context in try await self.get(request, context: context) }
        router.post("graphql") { request, context in try await self.post(request, context: context) }
    }

    /// One GraphQL request, however it came.
    public struct Operation: Decodable, Sendable {
        public var query: String
        public var operationName: String?
        public var variables: [String: Map]?

        public init(query: String, operationName: String? = nil, variables: [String: Map]? = nil) {
            self.query = query
            self.operationName = operationName
            self.variables = variables
        }
    }

    static let graphQLResponse = "application/graphql-response+json"
    /// A URL is no place for a long document (proxies and the server's own limit on the request
    /// head, 80 KiB, cut it; 2,048 characters percent-encoded stay well under).
    static let longestGETQuery = 2048

    func post<Context: IdentifiedRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let media = try Self.responseMedia(request)
        let type = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard type == "application/json" || type == Self.graphQLResponse else {
            return Self.refusal(.unsupportedMediaType, "Send the request as application/json.", media: media)
        }
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let operation: Operation
        do {
            operation = try JSONDecoder().decode(Operation.self, from: Data(buffer: body))
        } catch {
            return Self.refusal(.badRequest, "The body must be a JSON object with a string \"query\" (and optional \"operationName\" and \"variables\" object).", media: media)
        }
        return await run(operation, caller: context.caller, media: media, queryOnly: false)
    }

    func get<Context: IdentifiedRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let media = try Self.responseMedia(request)
        let parameters = Self.formParameters(request.uri.query ?? "")
        guard let query = parameters["query"] else {
            return Self.refusal(.badRequest, "Pass the query in the \"query\" parameter.", media: media)
        }
        guard query.count <= Self.longestGETQuery, (parameters["variables"]?.count ?? 0) <= Self.longestGETQuery else {
            return Self.refusal(.badRequest, "A query or its variables over \(Self.longestGETQuery) characters must be sent with POST.", media: media)
        }
        var variables: [String: Map]?
        if let text = parameters["variables"], !text.isEmpty {
            guard let decoded = try? JSONDecoder().decode([String: Map].self, from: Data(text.utf8)) else {
                return Self.refusal(.badRequest, "The \"variables\" parameter must be a JSON object.", media: media)
            }
            variables = decoded
        }
        let operation = Operation(query: query, operationName: parameters["operationName"], variables: variables)
        return await run(operation, caller: context.caller, media: media, queryOnly: true)
    }

    func run(_ operation: Operation, caller: Caller?, media: String, queryOnly: Bool) async -> Response {
        let evaluation = await evaluate(operation, caller: caller, queryOnly: queryOnly)
        if evaluation.mutationOverGET {
            var response = Self.refusal(.methodNotAllowed, "Only queries may be sent with GET; send this one with POST.", media: media)
            response.headers[.allow] = "POST"
            return response
        }
        let status: HTTPResponse.Status = evaluation.isRequestError && media == Self.graphQLResponse ? .badRequest : .ok
        return Self.answer(evaluation.result, status: status, media: media)
    }

    /// What a request comes to, whatever carried it.
    public struct Evaluation: Sendable {
        public var result: GraphQLResult
        /// Nothing ran: the query did not parse, passed a limit, failed validation, or its
        /// variables did not fit (the result has errors and no data).
        public var isRequestError: Bool
        /// A mutation or subscription sent with GET (refused; nothing ran).
        var mutationOverGET = false
    }

    /// Parses `operation`, holds it to the depth limit, validates it, holds it to the page sizes
    /// and the complexity limit, and runs it for `caller`.
    public func evaluate(_ operation: Operation, caller: Caller?, queryOnly: Bool = false) async -> Evaluation {
        let requestError: ([GraphQLError]) -> Evaluation = { Evaluation(result: GraphQLResult(errors: $0), isRequestError: true) }
        let document: Document
        switch checkedDocument(operation.query) {
        case .success(let valid): document = valid
        case .failure(let errors): return requestError(errors.errors)
        }
        let selected = document.definitions.compactMap { $0 as? OperationDefinition }
            .first { operation.operationName == nil || $0.name?.value == operation.operationName }
        if queryOnly, let selected, selected.operation != .query {
            var refused = requestError([])
            refused.mutationOverGET = true
            return refused
        }
        let variables = operation.variables ?? [:]
        if let error = limits.checkCost(document, operationName: operation.operationName, variables: variables, schema: schema.schema) {
            return requestError([error])
        }
        do {
            let result = try await execute(
                schema: schema.schema, documentAST: document, rootValue: resolver, context: GraphContext(caller: caller, services: resolver),
                variableValues: variables, operationName: operation.operationName)
            let rendered = GraphQLResult(data: result.data, errors: result.errors.map(render))
            // No data at all: the request could not start (variables that do not fit, say).
            return Evaluation(result: rendered, isRequestError: rendered.data == nil)
        } catch let error as GraphQLError {
            return requestError([error])
        } catch {
            return requestError([render(GraphQLError(error))])
        }
    }

    /// The query parsed, held to the depth limit and validated; from the cache when the same text
    /// came before (a storefront sends a handful of queries over and over, with other variables).
    func checkedDocument(_ query: String) -> Result<Document, GraphQLErrors> {
        if let cached = documents.document(for: query) { return .success(cached) }
        let document: Document
        do {
            document = try parse(source: Source(body: query, name: "GraphQL request"))
        } catch let error as GraphQLError {
            return .failure(GraphQLErrors([error]))
        } catch {
            return .failure(GraphQLErrors([GraphQLError(message: "The query could not be parsed.")]))
        }
        if let error = limits.checkDepth(document) { return .failure(GraphQLErrors([error])) }
        let validation = validate(schema: schema.schema, ast: document)
        if !validation.isEmpty { return .failure(GraphQLErrors(validation)) }
        documents.keep(document, for: query)
        return .success(document)
    }

    /// A resolver's error as the client sees it: the domain's refusal with its code, a database
    /// out of reach as UNAVAILABLE, anything else as an internal error whose details go to the log only.
    func render(_ error: GraphQLError) -> GraphQLError {
        guard let original = error.originalError else { return error }
        if let domain = original as? DomainError {
            var extensions: [String: Map] = ["code": .string(Self.code(domain.kind))]
            if !domain.fields.isEmpty {
                extensions["fields"] = .array(domain.fields.map { .dictionary(["field": .string($0.field), "reason": .string($0.reason)]) })
            }
            return GraphQLError(message: domain.message, locations: error.locations, path: error.path, extensions: extensions)
        }
        if let postgres = original as? PostgresError, PostgresOutage.isOutage(postgres) {
            return GraphQLError(
                message: "The database is out of reach for a moment; try again shortly.", locations: error.locations, path: error.path,
                extensions: ["code": .string("UNAVAILABLE")])
        }
        logger.error("a GraphQL field failed", metadata: ["path": "\(error.path)", "error": "\(original)"])
        return GraphQLError(
            message: "The field could not be resolved (an internal error, logged).", locations: error.locations, path: error.path,
            extensions: ["code": .string("INTERNAL_SERVER_ERROR")])
    }

    static func code(_ kind: DomainError.Kind) -> String {
        switch kind {
        case .notFound: "NOT_FOUND"
        case .forbidden: "FORBIDDEN"
        case .unauthorized: "UNAUTHENTICATED"
        case .invalid: "BAD_USER_INPUT"
        case .limited: "RATE_LIMITED"
        case .conflict: "CONFLICT"
        default: kind.description.uppercased()
        }
    }

    /// A query string as HTML forms and most clients write it (`+` for a space, then percent
    /// escapes); the first value of each name.
    static func formParameters(_ query: String) -> [String: String] {
        var parameters: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decode(parts[0]), let value = parts.count > 1 ? decode(parts[1]) : "" else { continue }
            if parameters[name] == nil { parameters[name] = value }
        }
        return parameters
    }

    /// The media type of the answer: graphql-response+json when accepted, else application/json;
    /// 406 when the client accepts neither.
    static func responseMedia(_ request: Request) throws -> String {
        let accepted = request.headers[values: .accept].flatMap { $0.split(separator: ",") }
            .map { $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? "" }
        if accepted.isEmpty { return "application/json" }
        if accepted.contains(graphQLResponse) { return graphQLResponse }
        if accepted.contains(where: { ["application/json", "application/*", "*/*"].contains($0) }) { return "application/json" }
        throw Problem(.notAcceptable, "Not acceptable", detail: "/graphql answers with \(graphQLResponse) or application/json.")
    }

    /// A request that is not a GraphQL request at all, answered in GraphQL's format.
    static func refusal(_ status: HTTPResponse.Status, _ message: String, media: String) -> Response {
        answer(GraphQLResult(errors: [GraphQLError(message: message, extensions: ["code": .string("BAD_REQUEST")])]), status: status, media: media)
    }

    static func answer(_ result: GraphQLResult, status: HTTPResponse.Status, media: String) -> Response {
        let bytes = (try? GraphQLJSONEncoder().encode(result)) ?? Data(#"{"errors":[{"message":"The answer could not be encoded."}]}"#.utf8)
        return Response(
            status: status, headers: [.contentType: "\(media); charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
