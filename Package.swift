// swift-tools-version:6.1
import PackageDescription

// Layers (each imports only the ones above it):
//   C modules   CLibPQ, CRdKafka, CRabbitMQ, CHiredis,        one .systemLibrary each
//               CSodium, CCurl, COpenSSL (Redis over TLS),
//               CSpawn (posix_spawn's closefrom file action)
//   wrappers    Postgres, Kafka, AMQP, Redis, Sodium, SMTP,   own the C handles
//               Processes (child processes, posix_spawn)
//   runtime     Messaging, HTTPRuntime, Observability,
//               DomainRuntime (what a domain declares: DomainModule, Setting)
//   domains     Contracts (messages), Auth, Catalog,          model, SQL, routes, handlers
//               Ordering, Mailing
//   APIs        GraphQLAPI (`/graphql`), GRPCAPI (`emporium grpc`)  other ways in than REST, over the domains
//   assembly    Gateway (HTTP app), Emporium (`emporium`)     subcommands
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Emporium",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "emporium", targets: ["Emporium"]),
        .library(name: "Postgres", targets: ["Postgres"]),
        .library(name: "Redis", targets: ["Redis"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "AMQP", targets: ["AMQP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        // Already in the graph through Hummingbird, which re-exports only some of its types.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // Also in the graph through Hummingbird: `emporium loadtest`'s HTTP client.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        // Tracing API (already in the graph through Hummingbird) and its OTLP/HTTP exporter; the
        // gRPC exporter is left out (trait), which keeps grpc-swift out of the build.
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.3.1"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        // Settings: the environment and secret files through one reader (no file formats needed).
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: []),
        // The storefront's GraphQL API (schema built in Swift; the GraphQL engine underneath).
        .package(url: "https://github.com/GraphQLSwift/Graphiti.git", from: "3.1.0"),
        .package(url: "https://github.com/GraphQLSwift/GraphQL.git", from: "4.3.0"),
        // The gRPC API: grpc-swift 2 over HTTP/2 (NIO), messages by swift-protobuf. The code
        // generated from proto/ is committed (`make protos` writes it; the plugins build slowly).
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        // MARK: - C modules
        .systemLibrary(
            name: "CLibPQ",
            path: "Sources/C/CLibPQ",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CRdKafka",
            path: "Sources/C/CRdKafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "CRabbitMQ",
            path: "Sources/C/CRabbitMQ",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/C/CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/C/COpenSSL",
            providers: [.apt(["libssl-dev"])]
        ),

        .systemLibrary(
            name: "CSodium",
            path: "Sources/C/CSodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "CSpawn",
            path: "Sources/C/CSpawn"
        ),
        .systemLibrary(
            name: "CCurl",
            path: "Sources/C/CCurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),

        // MARK: - Wrappers
        .target(
            name: "Sodium",
            dependencies: ["CSodium"],
            path: "Sources/Wrappers/Sodium",
            swiftSettings: strict
        ),
        .target(
            name: "SMTP",
            dependencies: [
                "CCurl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/Wrappers/SMTP",
            swiftSettings: strict
        ),
        .target(
            name: "ConnectionPool",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Wrappers/ConnectionPool",
            swiftSettings: strict
        ),
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ",
                "ConnectionPool",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Wrappers/Postgres",
            swiftSettings: strict
        ),
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                "ConnectionPool",
                "Processes",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Wrappers/Kafka",
            swiftSettings: strict
        ),
        .target(
            name: "AMQP",
            dependencies: [
                "CRabbitMQ",
                "ConnectionPool",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Wrappers/AMQP",
            swiftSettings: strict
        ),
        .target(
            name: "Redis",
            dependencies: [
                "CHiredis",
                "COpenSSL",
                "ConnectionPool",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Wrappers/Redis",
            swiftSettings: strict
        ),

        // MARK: - Runtime
        .target(
            name: "Messaging",
            dependencies: [
                "AMQP",
                "ConnectionPool",
                "Kafka",
                "Postgres",
                "Redis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Sources/Runtime/Messaging",
            swiftSettings: strict
        ),
        .target(
            name: "HTTPRuntime",
            dependencies: [
                "DomainKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Sources/Runtime/HTTP",
            swiftSettings: strict
        ),

        // What a domain declares (``DomainModule``: routes, worker roles, topics, delays, settings)
        // and the settings machinery it declares them with (swift-configuration underneath).
        .target(
            name: "DomainRuntime",
            dependencies: [
                "ConnectionPool", "HTTPRuntime", "Messaging", "Postgres", "Redis",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Runtime/Domain",
            swiftSettings: strict
        ),

        // MARK: - Domains
        // Each domain's core (its `Core` folder) is a target of its own that depends only on
        // DomainKit: the compiler keeps HTTP, SQL and brokers out of the rules.
        .target(
            name: "DomainKit",
            path: "Sources/Domains/DomainKit",
            swiftSettings: strict
        ),
        .target(
            name: "MailingCore",
            dependencies: ["DomainKit"],
            path: "Sources/Domains/Mailing/Core",
            swiftSettings: strict
        ),
        .target(
            name: "OrderingCore",
            dependencies: ["DomainKit"],
            path: "Sources/Domains/Ordering/Core",
            swiftSettings: strict
        ),
        .target(
            name: "AuthCore",
            dependencies: ["DomainKit"],
            path: "Sources/Domains/Auth/Core",
            swiftSettings: strict
        ),
        .target(
            name: "CatalogCore",
            dependencies: ["DomainKit"],
            path: "Sources/Domains/Catalog/Core",
            swiftSettings: strict
        ),
        .target(
            name: "Contracts",
            dependencies: ["Messaging"],
            path: "Sources/Domains/Contracts",
            swiftSettings: strict
        ),
        .target(
            name: "Catalog",
            dependencies: [
                "CatalogCore", "Contracts", "DomainKit", "DomainRuntime", "HTTPRuntime", "Messaging", "Postgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Domains/Catalog",
            exclude: ["Core"],
            swiftSettings: strict
        ),
        .target(
            name: "Ordering",
            dependencies: [
                "Contracts", "DomainKit", "DomainRuntime", "HTTPRuntime", "Messaging", "OrderingCore", "Postgres", "Redis",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Domains/Ordering",
            exclude: ["Core"],
            swiftSettings: strict
        ),

        .target(
            name: "Auth",
            dependencies: [
                "AuthCore", "Contracts", "DomainKit", "DomainRuntime", "HTTPRuntime", "Messaging", "Postgres", "Redis", "Sodium",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Domains/Auth",
            exclude: ["Core"],
            swiftSettings: strict
        ),
        .target(
            name: "Mailing",
            dependencies: [
                "Contracts", "DomainKit", "DomainRuntime", "HTTPRuntime", "MailingCore", "Messaging", "Postgres", "SMTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            path: "Sources/Domains/Mailing",
            exclude: ["Core"],
            swiftSettings: strict
        ),

        // MARK: - APIs
        // Ways in besides REST, over the same domain services (no HTTP handler in between).
        .target(
            name: "GraphQLAPI",
            dependencies: [
                "Catalog", "CatalogCore", "DomainKit", "DomainRuntime", "HTTPRuntime", "Mailing", "Ordering", "OrderingCore", "Postgres",
                .product(name: "Graphiti", package: "Graphiti"),
                .product(name: "GraphQL", package: "GraphQL"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/APIs/GraphQL",
            swiftSettings: strict
        ),

        .target(
            name: "GRPCAPI",
            dependencies: [
                "Auth", "Catalog", "DomainKit", "DomainRuntime", "HTTPRuntime", "Observability", "Ordering", "OrderingCore", "Postgres",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/APIs/GRPC",
            // The protos as FileDescriptorProtos, for server reflection (make protos writes it).
            resources: [.embedInCode("Generated/descriptors.pb")],
            swiftSettings: strict
        ),

        // MARK: - Assembly
        .target(
            name: "Gateway",
            dependencies: [
                "Auth", "DomainRuntime", "HTTPRuntime", "Messaging", "Observability", "Postgres",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Gateway",
            resources: [.embedInCode("openapi.json")],
            swiftSettings: strict
        ),
        .target(
            name: "Processes",
            dependencies: ["CSpawn"],
            path: "Sources/Wrappers/Processes",
            swiftSettings: strict
        ),
        .target(
            name: "Observability",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Sources/Runtime/Observability",
            swiftSettings: strict
        ),

        // MARK: - Executable
        .executableTarget(
            name: "Emporium",
            dependencies: [
                "AMQP",
                "Auth",
                "Catalog",
                "ConnectionPool",
                "Contracts",
                "DomainRuntime",
                "Gateway",
                "GraphQLAPI",
                "GRPCAPI",
                "Kafka",
                "Mailing",
                "Messaging",
                "Observability",
                "Ordering",
                "Postgres",
                "Processes",
                "Redis",
                "SMTP",
                "Sodium",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GraphQL", package: "GraphQL"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Emporium",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "EmporiumBench",
            dependencies: [
                "AMQP",
                "ConnectionPool",
                "Kafka",
                "Messaging",
                "Postgres",
                "Redis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/EmporiumBench",
            swiftSettings: strict
        ),

        // MARK: - Tests
        .testTarget(
            name: "DomainCoreTests",
            dependencies: ["AuthCore", "CatalogCore", "DomainKit", "HTTPRuntime", "MailingCore", "OrderingCore"],
            path: "Tests/DomainCoreTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "ContractTests",
            dependencies: ["Contracts", "EmporiumTestSupport", "Messaging"],
            path: "Tests/ContractTests",
            swiftSettings: strict
        ),
        .target(
            name: "EmporiumTestSupport",
            dependencies: [
                "ConnectionPool",
                "Processes",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/Support",
            swiftSettings: strict
        ),
        .testTarget(
            name: "PostgresTests",
            dependencies: [
                "Postgres",
                "EmporiumTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/PostgresTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: ["Kafka", "EmporiumTestSupport", "Processes"],
            path: "Tests/KafkaTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "AMQPTests",
            dependencies: ["AMQP", "CRabbitMQ", "ConnectionPool", "EmporiumTestSupport"],
            path: "Tests/AMQPTests",
            swiftSettings: strict
        ),
        .target(
            name: "MessagingConformance",
            dependencies: [
                "AMQP", "Kafka", "Messaging", "Postgres", "Redis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/MessagingConformance",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "MessagingConformanceWorker",
            dependencies: [
                "Kafka", "Messaging", "MessagingConformance", "Postgres", "Redis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Tests/MessagingConformanceWorker",
            swiftSettings: strict
        ),
        .testTarget(
            name: "MessagingTests",
            dependencies: [
                "AMQP", "Kafka", "Messaging", "MessagingConformance", "Observability", "Postgres", "Redis", "EmporiumTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "Tests/MessagingTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "OrderPipelineTests",
            dependencies: [
                "AMQP", "Auth", "Catalog", "Contracts", "DomainRuntime", "EmporiumTestSupport", "Gateway", "Kafka", "Mailing", "Messaging",
                "GraphQLAPI", "GRPCAPI", "Ordering", "Postgres",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GraphQL", package: "GraphQL"),
                "Redis", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "Tests/OrderPipelineTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "DomainSeamTests",
            dependencies: [
                "Auth", "Catalog", "Contracts", "DomainRuntime", "Gateway", "HTTPRuntime", "Mailing", "Messaging", "Ordering", "Postgres",
                "Redis",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/DomainSeamTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "OpenAPITests",
            dependencies: [
                "Auth", "Catalog", "DomainKit", "DomainRuntime", "Gateway", "GraphQLAPI", "Mailing", "Ordering", "Postgres", "Redis",
                .product(name: "GraphQL", package: "GraphQL"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/OpenAPITests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "DeploymentTests",
            dependencies: ["EmporiumTestSupport"],
            path: "Tests/DeploymentTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "SodiumTests",
            dependencies: ["Sodium"],
            path: "Tests/SodiumTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "SMTPTests",
            dependencies: ["SMTP", "EmporiumTestSupport", .product(name: "Logging", package: "swift-log")],
            path: "Tests/SMTPTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "RedisTests",
            dependencies: ["Redis", "ConnectionPool", "EmporiumTestSupport"],
            path: "Tests/RedisTests",
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
