import ArgumentParser
import DomainRuntime
import Foundation

/// `emporium openapi shapes`: the shape each API model's Swift type reads (``DomainModule/apiModels``),
/// as JSON; `deploy/openapi_models.py` (`make openapi`) writes them into the document's schemas.
struct OpenAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openapi", abstract: "What the API's document is generated from.", subcommands: [Shapes.self])

    struct Shapes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "shapes",
            abstract: "Print each API model's schema name with the shape its Swift type reads (fields in order, required, types), as JSON.")

        func run() async throws {
            let models = Domains.all.apiModels
            // A nested model is a reference to its schema (the first schema its type serves).
            var named: [String: String] = [:]
            for model in models where named[model.typeName] == nil { named[model.typeName] = model.schema }
            var shapes: [String: Any] = [:]
            for model in models { shapes[model.schema] = try model.shape().json(named: named) }
            let data = try JSONSerialization.data(withJSONObject: shapes, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
