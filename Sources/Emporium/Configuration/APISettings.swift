/// The HTTP gateway.
///
/// Keys: `API_HOST` (`127.0.0.1`), `API_PORT` (`8080`; 0 picks a free port, logged at start),
/// `API_IDENTITY` (`headers`, the only mode until accounts land: the caller comes from
/// `X-Customer-Id` and `X-Customer-Role`, so run it only behind something that sets them).
struct APISettings: Sendable {
    var host: String
    var port: Int

    init(environment: Environment) throws {
        host = environment.string("API_HOST", default: "127.0.0.1")
        port = try environment.integer("API_PORT", default: 8080, range: 0...65535)
        let identity = environment.string("API_IDENTITY", default: "headers")
        guard identity == "headers" else {
            throw ConfigurationError(key: "API_IDENTITY", message: "expected \"headers\" (the only mode until accounts land), got \"\(identity)\"")
        }
    }
}
