import ArgumentParser
import GraphQL
import GraphQLAPI

/// `emporium graphql schema`: the GraphQL schema in SDL, as the server builds it
/// (docs/graphql/schema.graphql holds it; a test keeps the two equal).
struct GraphQLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphql", abstract: "The storefront's GraphQL API.", subcommands: [Schema.self])

    struct Schema: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "schema", abstract: "Print the GraphQL schema in SDL.")

        func run() async throws {
            print(printSchema(schema: try StorefrontSchema.make().schema))
        }
    }
}
