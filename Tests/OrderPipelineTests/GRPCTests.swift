import EmporiumTestSupport
import Foundation
import GRPCCore
@testable import GRPCAPI
import DomainKit
import GRPCNIOTransportHTTP2
import Postgres
import SwiftProtobuf
import Testing

/// `emporium grpc` against the running fleet: a stock client (Python's grpcio) through every
/// service, a Swift client sharing an idempotency key with the REST path, and a deadline that
/// cancels the statement it was waiting on.
@Suite("gRPC API", .usesRabbitMQ, .usesProductWorkers, .timeLimit(.minutes(10)))
struct GRPCTests {
    static let serviceToken = "a-service-token-for-the-grpc-tests-0123456789"

    static func server(_ fleet: PipelineFleet, environment: [String: String] = [:]) async throws -> Int {
        try await fleet.spawnGRPC(
            "grpc-\(UUID().uuidString.prefix(8))", environment: environment.merging(["GRPC_SERVICE_TOKEN": serviceToken]) { $1 })
    }

    static func bearer(_ subject: String, role: String = "customer") async throws -> Metadata {
        ["authorization": "Bearer \(try await APIClient.tokens.token(subject: subject, role: role))"]
    }

    static func withClient<T: Sendable>(_ port: Int, _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        try await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext), handleClient: body)
    }

    @Test("a stock client (Python's grpcio, stubs generated from proto/) through stock, product pages, orders, health, credentials and a deadline")
    func stockClient() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let port = try await Self.server(fleet, environment: ["ORDER_MAX_OPEN_UNITS": "10"])
        let sku = fleet.uniqueSKU("GRPC-PY")
        try await fleet.createProduct(sku, priceMinor: 300, stock: 50)
        let (customer, other) = ("grpc-py-\(UUID())", "grpc-py-other-\(UUID())")
        #expect(try await fleet.api.send("POST", "/cart/items", as: .customer(customer), body: CartItem(sku: sku, quantity: 2)).status == 200)
        let script = PipelineFleet.repositoryRoot.appendingPathComponent("Tests/grpc_client.py").path
        let protos = PipelineFleet.repositoryRoot.appendingPathComponent("proto").path
        let output = try await ChildProcess.shell(
            "'\(SMTPCatcher.python)' '\(script)' --target 127.0.0.1:\(port) --protos '\(protos)' --customer '\(customer)' "
                + "--token '\(try await APIClient.tokens.token(subject: customer, role: "customer"))' "
                + "--other-token '\(try await APIClient.tokens.token(subject: other, role: "customer"))' "
                + "--service-token '\(Self.serviceToken)' --sku '\(sku)' 2>&1; echo \"exit=$?\"",
            timeout: .seconds(180))
        #expect(output.hasSuffix("exit=0\n"), "\(output)")
    }

    @Test("an idempotency key means the same over gRPC as over REST: an order placed by POST /orders is replayed by PlaceOrder")
    func keySharedWithREST() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let port = try await Self.server(fleet)
        let sku = fleet.uniqueSKU("GRPC-KEY")
        try await fleet.createProduct(sku, priceMinor: 450, stock: 20)
        let customer = "grpc-key-\(UUID())"
        let key = "shared-\(UUID())"
        let rest = try await fleet.placeOrder(customer, [(sku, 3)], key: key)
        let replayed = try await Self.withClient(port) { client in
            try await Emporium_Order_V1_OrderService.Client(wrapping: client).placeOrder(
                .with {
                    $0.idempotencyKey = key
                    $0.lines = [.with { $0.sku = sku; $0.quantity = 3 }]
                }, metadata: try await Self.bearer(customer))
        }
        #expect(replayed.replayed)
        #expect(replayed.order.id == rest.id.uuidString.lowercased())
        #expect(replayed.order.totalMinor == 1350)
        let levels = try await Self.withClient(port) { client in
            try await Emporium_Stock_V1_StockService.Client(wrapping: client).getStock(
                .with { $0.skus = [sku] }, metadata: try await Self.bearer(customer))
        }
        #expect(levels.levels.map(\.sku) == [sku])
    }

    @Test("WatchStock streams the stock now, then each change: an admin's adjustment and a product's deletion")
    func watchStock() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let port = try await Self.server(fleet)
        let (sku, other) = (fleet.uniqueSKU("GRPC-WATCH"), fleet.uniqueSKU("GRPC-WATCH"))
        try await fleet.createProduct(sku, priceMinor: 100, stock: 30)
        try await fleet.createProduct(other, priceMinor: 100, stock: 7)
        let metadata = try await Self.bearer("grpc-watch-\(UUID())")
        // The stock is read where the watch reads it (the replica, which may lag the creation by
        // a moment; a product not found there is streamed as deleted): wait until both show.
        let visible = try await eventually(timeout: .seconds(30), every: .milliseconds(100)) {
            let levels = try await Self.withClient(port) { client in
                try await Emporium_Stock_V1_StockService.Client(wrapping: client).getStock(.with { $0.skus = [sku, other] }, metadata: metadata)
            }
            return levels.levels.count == 2
        }
        #expect(visible, "both products readable before the watch")
        var options = CallOptions.defaults
        options.timeout = .seconds(60)
        let seen = try await Self.withClient(port) { client in
            try await Emporium_Stock_V1_StockService.Client(wrapping: client).watchStock(
                .with { $0.skus = [sku, other] }, metadata: metadata, options: options
            ) { response in
                var seen: [(String, Int32, Bool)] = []
                for try await level in response.messages {
                    seen.append((level.sku, level.available, level.deleted))
                    if seen.count == 2 {
                        // Both as they are now; then a change to each.
                        let adjusted = try await fleet.api.send("POST", "/products/\(sku)/stock-adjustments", as: .admin, body: ["delta": -5])
                        try #require(adjusted.status == 200, "\(adjusted.text)")
                        let deleted = try await fleet.api.send("DELETE", "/products/\(other)", as: .admin)
                        try #require(deleted.status == 204, "\(deleted.text)")
                    }
                    if seen.count == 4 { break }
                }
                return seen
            }
        }
        #expect(seen.prefix(2).sorted { $0.0 < $1.0 }.map { "\($0.0) \($0.1) \($0.2)" }
            == [(sku, 30, false), (other, 7, false)].sorted { $0.0 < $1.0 }.map { "\($0.0) \($0.1) \($0.2)" })
        #expect(seen.dropFirst(2).sorted { $0.0 < $1.0 }.map { "\($0.0) \($0.1) \($0.2)" }
            == [(sku, 25, false), (other, 0, true)].sorted { $0.0 < $1.0 }.map { "\($0.0) \($0.1) \($0.2)" })
    }

    @Test("server reflection v1 lists the services and gives a symbol's file with its imports; an unknown symbol is NOT_FOUND in the answer")
    func reflectionV1() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let port = try await Self.server(fleet)
        let answers = try await Self.withClient(port) { client in
            try await Grpc_Reflection_V1_ServerReflection.Client(wrapping: client).serverReflectionInfo { writer in
                try await writer.write(.with { $0.listServices = "" })
                try await writer.write(.with { $0.fileContainingSymbol = "emporium.stock.v1.StockService.WatchStock" })
                try await writer.write(.with { $0.fileContainingSymbol = "emporium.nothing.Here" })
            } onResponse: { response in
                var answers: [Grpc_Reflection_V1_ServerReflectionResponse] = []
                for try await answer in response.messages { answers.append(answer) }
                return answers
            }
        }
        try #require(answers.count == 3)
        #expect(answers[0].listServicesResponse.service.map(\.name) == GRPCServerService.serviceNames.sorted())
        let files = try answers[1].fileDescriptorResponse.fileDescriptorProto.map { try Google_Protobuf_FileDescriptorProto(serializedBytes: $0) }
        #expect(files.map(\.name) == ["emporium/stock/v1/stock.proto"])
        #expect(files.first?.service.first?.method.map(\.name) == ["GetStock", "WatchStock"])
        #expect(answers[2].errorResponse.errorCode == 5)
    }

    @Test("each kind of domain refusal has its status code", arguments: [
        (DomainError.notFound("x"), RPCError.Code.notFound), (.conflict("x"), .failedPrecondition),
        (.invalid("lines", "at least one line"), .invalidArgument),
        (DomainError(.invalid, "reused", summary: "Idempotency-Key reused"), .alreadyExists),
        (.forbidden("x"), .permissionDenied), (.unauthorized("x"), .unauthenticated),
        (DomainError(.limited, "too many"), .resourceExhausted), (DomainError(.busy, "later"), .unavailable),
        (DomainError(.gone, "expired"), .failedPrecondition), (DomainError(.stale, "moved on"), .aborted),
    ])
    func statusCodes(_ error: DomainError, _ code: RPCError.Code) {
        let status = RPCErrors.status(error)
        #expect(status.code == code)
        #expect(status.message == error.message)
    }

    @Test("a deadline reaches the database: a PlaceOrder waiting on a lock gets DEADLINE_EXCEEDED, its statement is cancelled, nothing is placed")
    func deadlineCancelsTheStatement() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let port = try await Self.server(fleet)
        let sku = fleet.uniqueSKU("GRPC-DEADLINE")
        try await fleet.createProduct(sku, priceMinor: 100, stock: 20)
        let customer = "grpc-deadline-\(UUID())"
        let metadata = try await Self.bearer(customer)
        // The order's transaction takes this customer's open-orders lock first; hold it until the
        // call's statement has stopped waiting for it. gRPC ends the call at the deadline; unless
        // that reaches the statement, it waits on while the lock is held, and places the order once
        // the lock goes.
        let (code, cancelled): (RPCError.Code?, Bool) = try await fleet.database.withTransaction { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock(hashtextextended('ordering.open-orders:' || \(customer), 0))")
            let code = try await Self.withClient(port) { client -> RPCError.Code? in
                var options = CallOptions.defaults
                options.timeout = .milliseconds(800)
                do {
                    _ = try await Emporium_Order_V1_OrderService.Client(wrapping: client).placeOrder(
                        .with {
                            $0.idempotencyKey = "deadline-\(UUID())"
                            $0.lines = [.with { $0.sku = sku; $0.quantity = 1 }]
                        }, metadata: metadata, options: options)
                    return nil
                } catch let error as RPCError {
                    return error.code
                }
            }
            let cancelled = try await eventually(timeout: .seconds(15), every: .milliseconds(100)) {
                try await fleet.database.query("""
                    SELECT count(*)::bigint AS n FROM pg_stat_activity
                    WHERE wait_event_type = 'Lock' AND query LIKE '%ordering.open-orders:%' AND pid <> pg_backend_pid()
                    """).single().decode("n", as: Int64.self) == 0
            }
            return (code, cancelled)
        }
        #expect(code == .deadlineExceeded)
        #expect(cancelled, "the call's statement still waited for the lock 15 s after the deadline")
        let placed = try await fleet.database.query("SELECT count(*)::bigint AS n FROM ordering.orders WHERE customer_id = \(customer)")
            .single().decode("n", as: Int64.self)
        #expect(placed == 0)
    }
}
