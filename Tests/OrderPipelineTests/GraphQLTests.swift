import Catalog
import DomainKit
import EmporiumTestSupport
import Foundation
import GraphQL
import GraphQLAPI
import Logging
import Mailing
import Ordering
import Postgres
import Redis
import Testing

/// `/graphql` against the running fleet: a product page in one request, who sees which order,
/// refusals of abusive queries in GraphQL's format, the statements a page costs whatever its size,
/// and a stock client (Python's graphql-core) reading the served schema.
@Suite("GraphQL API", .usesRabbitMQ, .usesProductWorkers, .timeLimit(.minutes(10)))
struct GraphQLTests {
    /// POSTs a query; the reply's JSON object.
    static func query(
        _ fleet: PipelineFleet, _ query: String, variables: [String: Any] = [:], as identity: APIClient.Identity = .anonymous,
        accept: String? = nil
    ) async throws -> (status: Int, json: [String: Any], reply: APIClient.Reply) {
        let body = try JSONSerialization.data(withJSONObject: ["query": query, "variables": variables])
        let reply = try await fleet.api.send("POST", "/graphql", as: identity, headers: accept.map { ["Accept": $0] } ?? [:], raw: body)
        return (reply.status, reply.json, reply)
    }

    static func codes(_ json: [String: Any]) -> [String] {
        ((json["errors"] as? [[String: Any]]) ?? []).compactMap { ($0["extensions"] as? [String: Any])?["code"] as? String }
    }

    @Test("a product page (the product with its stock, the caller's cart with each line's stock) is one request")
    func productPage() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let (tea, cup) = (fleet.uniqueSKU("GQL-TEA"), fleet.uniqueSKU("GQL-CUP"))
        try await fleet.createProduct(tea, priceMinor: 450, stock: 12)
        try await fleet.createProduct(cup, priceMinor: 900, stock: 3)
        let me = APIClient.Identity.customer("graphql-\(UUID())")
        #expect(try await fleet.api.send("POST", "/cart/items", as: me, body: CartItem(sku: cup, quantity: 2)).status == 200)

        let page = """
            query Page($sku: String!) {
              product(sku: $sku) { sku name priceMinor currency stock inStock }
              cart { status totalMinor lines { sku quantity lineTotalMinor product { stock } } }
            }
            """
        let (status, json, reply) = try await Self.query(fleet, page, variables: ["sku": tea], as: me)
        #expect(status == 200)
        #expect(reply.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(json["errors"] == nil, "\(reply.text)")
        let data = try #require(json["data"] as? [String: Any])
        let product = try #require(data["product"] as? [String: Any])
        #expect(product["sku"] as? String == tea)
        #expect(product["stock"] as? Int == 12)
        #expect(product["priceMinor"] as? Int == 450)
        let cart = try #require(data["cart"] as? [String: Any])
        #expect(cart["status"] as? String == "open")
        let lines = try #require(cart["lines"] as? [[String: Any]])
        #expect(lines.count == 1)
        #expect(lines.first?["sku"] as? String == cup)
        #expect(lines.first?["quantity"] as? Int == 2)
        #expect((lines.first?["product"] as? [String: Any])?["stock"] as? Int == 3)

        // Signed out, the same query still gets the product; the cart is null with UNAUTHENTICATED.
        let anonymous = try await Self.query(fleet, page, variables: ["sku": tea])
        #expect(anonymous.status == 200)
        #expect(((anonymous.json["data"] as? [String: Any])?["product"] as? [String: Any])?["sku"] as? String == tea)
        #expect((anonymous.json["data"] as? [String: Any])?["cart"] is NSNull)
        #expect(Self.codes(anonymous.json) == ["UNAUTHENTICATED"])

        // Filters and cursor pagination over the same products.
        let list = try await Self.query(
            fleet, #"{ products(first: 1, filter: {text: "\#(tea)", minPrice: 400, maxPrice: 500, inStock: true}) { edges { cursor node { sku } } pageInfo { hasNextPage endCursor } } }"#)
        let connection = (list.json["data"] as? [String: Any])?["products"] as? [String: Any]
        #expect(((connection?["edges"] as? [[String: Any]])?.first?["node"] as? [String: Any])?["sku"] as? String == tea, "\(list.reply.text)")
        #expect((connection?["pageInfo"] as? [String: Any])?["hasNextPage"] as? Bool == false)
        let tooDear = try await Self.query(fleet, #"{ products(filter: {text: "\#(tea)", minPrice: 451}) { nodes { sku } } }"#)
        #expect(((tooDear.json["data"] as? [String: Any])?["products"] as? [String: Any])?["nodes"] as? [Any] != nil)
        #expect((((tooDear.json["data"] as? [String: Any])?["products"] as? [String: Any])?["nodes"] as? [Any])?.isEmpty == true)
    }

    @Test("a customer sees their own orders only, whatever the query's shape; an admin sees any, with who moved them")
    func ordersAreTheCallers() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let sku = fleet.uniqueSKU("GQL-ORDER")
        try await fleet.createProduct(sku, priceMinor: 700, stock: 10)
        let (alice, bob) = ("graphql-alice-\(UUID())", "graphql-bob-\(UUID())")
        let placed = try await fleet.placeOrder(alice, [(sku, 2)])
        let id = placed.id.uuidString.lowercased()

        let mine = try await Self.query(
            fleet, "{ orders { nodes { id customerId totalMinor lines { sku quantity product { sku stock } } history { to } } } }", as: .customer(alice))
        let nodes = try #require(((mine.json["data"] as? [String: Any])?["orders"] as? [String: Any])?["nodes"] as? [[String: Any]], "\(mine.reply.text)")
        #expect(nodes.map { $0["id"] as? String } == [id])
        #expect(nodes.first?["totalMinor"] as? Int == 1400)
        #expect(((nodes.first?["history"] as? [[String: Any]])?.first)?["to"] as? String == "PENDING")
        #expect((((nodes.first?["lines"] as? [[String: Any]])?.first)?["product"] as? [String: Any])?["sku"] as? String == sku)

        // Bob: not in his list, null by id, FORBIDDEN by customer id, and no actor on any history.
        let theirs = try await Self.query(fleet, "{ orders { nodes { id } } }", as: .customer(bob))
        #expect((((theirs.json["data"] as? [String: Any])?["orders"] as? [String: Any])?["nodes"] as? [Any])?.isEmpty == true)
        let byID = try await Self.query(fleet, #"{ order(id: "\#(id)") { id lines { sku } } }"#, as: .customer(bob))
        #expect((byID.json["data"] as? [String: Any])?["order"] is NSNull, "\(byID.reply.text)")
        let byCustomer = try await Self.query(fleet, #"{ orders(customerId: "\#(alice)") { nodes { id } } }"#, as: .customer(bob))
        #expect(Self.codes(byCustomer.json) == ["FORBIDDEN"])
        #expect((byCustomer.json["data"] as? [String: Any])?["orders"] is NSNull)
        let aliased = try await Self.query(
            fleet, #"{ a: orders(customerId: "\#(alice)") { nodes { id } } b: order(id: "\#(id)") { id } }"#, as: .customer(bob))
        #expect((aliased.json["data"] as? [String: Any])?["a"] is NSNull)
        #expect((aliased.json["data"] as? [String: Any])?["b"] is NSNull)
        let ownActor = try await Self.query(fleet, "{ orders { nodes { history { to actor } } } }", as: .customer(alice))
        #expect(Self.codes(ownActor.json).allSatisfy { $0 == "FORBIDDEN" } && !Self.codes(ownActor.json).isEmpty, "\(ownActor.reply.text)")

        let admin = try await Self.query(
            fleet, #"{ orders(customerId: "\#(alice)") { nodes { id history { to actor causeKind } } } }"#, as: .admin)
        let adminNodes = ((admin.json["data"] as? [String: Any])?["orders"] as? [String: Any])?["nodes"] as? [[String: Any]]
        #expect(adminNodes?.map { $0["id"] as? String } == [id], "\(admin.reply.text)")
        #expect(((adminNodes?.first?["history"] as? [[String: Any]])?.first)?["actor"] as? String == "customer:\(alice)")
    }

    @Test("abuse is refused in GraphQL's format and never with a 5xx: 50 levels deep, a 10,000-item page, a costly query, no credentials, no JSON")
    func abuse() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let deep = "{ __schema { types { fields { type " + String(repeating: "{ ofType ", count: 47) + "{ name }" + String(repeating: " }", count: 47) + " } } } }"
        for accept in [nil, "application/graphql-response+json"] {
            let refused = try await Self.query(fleet, deep, accept: accept)
            #expect(refused.status == (accept == nil ? 200 : 400), "\(refused.reply.text)")
            #expect(Self.codes(refused.json) == ["DEPTH_LIMIT_EXCEEDED"], "\(refused.reply.text)")
            #expect(refused.json["data"] == nil)
        }
        let huge = try await Self.query(fleet, "{ products(first: 10000) { nodes { sku } } }")
        #expect(Self.codes(huge.json) == ["BAD_USER_INPUT"], "\(huge.reply.text)")
        let viaVariable = try await Self.query(fleet, "query($n: Int) { products(first: $n) { nodes { sku } } }", variables: ["n": 10_000])
        #expect(Self.codes(viaVariable.json) == ["BAD_USER_INPUT"], "\(viaVariable.reply.text)")
        // 100 orders x 10 lines x (product x ...) and 10 aliases of it: within every page size, past the complexity.
        let one = "orders(first: 100) { nodes { lines { sku product { sku stock name } } history { to at } } }"
        let costly = "{ " + (0..<10).map { "o\($0): \(one)" }.joined(separator: " ") + " }"
        let tooCostly = try await Self.query(fleet, costly, as: .admin)
        #expect(Self.codes(tooCostly.json) == ["COMPLEXITY_LIMIT_EXCEEDED"], "\(tooCostly.reply.text)")

        let unsigned = try await Self.query(fleet, "{ notifications { unreadCount } orders { nodes { id } } }")
        #expect(unsigned.status == 200)
        #expect(Self.codes(unsigned.json) == ["UNAUTHENTICATED", "UNAUTHENTICATED"], "\(unsigned.reply.text)")
        let badToken = try await fleet.api.send(
            "POST", "/graphql", as: .bearer("not-a-token"), raw: Data(#"{"query":"{ cart { status } }"}"#.utf8))
        #expect(badToken.status == 401)

        let notJSON = try await fleet.api.send("POST", "/graphql", raw: Data("{ products { nodes { sku } } }".utf8))
        #expect(notJSON.status == 400)
        #expect(notJSON.json["errors"] != nil)
        var form = try await fleet.api.send("POST", "/graphql", headers: ["Content-Type": "text/plain"], raw: Data(#"{"query":"{ __typename }"}"#.utf8))
        #expect(form.status == 415)
        form = try await fleet.api.send("GET", "/graphql?query=%7B%20unknownField%20%7D")
        #expect(form.status == 200)
        #expect((form.json["errors"] as? [[String: Any]])?.first?["message"] as? String != nil)
        let syntax = try await Self.query(fleet, "{ products(first: ", accept: "application/graphql-response+json")
        #expect(syntax.status == 400)
        #expect(syntax.reply.header("Content-Type")?.hasPrefix("application/graphql-response+json") == true)
    }

    @Test("a page's statements do not grow with its size: products, and orders with lines' products and histories (no N+1)")
    func statementsPerPage() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let prefix = "GQLN1-\(UUID().uuidString.prefix(8))"
        let customer = "graphql-n1-\(UUID())"
        // 60 products and 60 orders of 3 lines each, written as the fixture of this test alone
        // (cancelled orders: no timer, no stock held), removed at the end.
        try await fleet.database.execute("""
            WITH p AS (
                INSERT INTO catalog.products (sku, name, description, price_minor, currency)
                SELECT \(prefix) || '-' || lpad(n::text, 3, '0'), 'N+1 probe ' || n, '', 100 + n, 'EUR' FROM generate_series(1, 60) n
                RETURNING sku)
            INSERT INTO catalog.stock (sku, available) SELECT sku, 5 FROM p
            """)
        try await fleet.database.execute("""
            WITH o AS (
                INSERT INTO ordering.orders (id, customer_id, status, cancel_reason, stock, currency, total_minor, created_at)
                SELECT gen_random_uuid(), \(customer), 'CANCELLED', 'customer', 'rejected', 'EUR', 300, now() - n * interval '1 second'
                FROM generate_series(1, 60) n RETURNING id, created_at),
            l AS (
                INSERT INTO ordering.order_lines (order_id, line_number, sku, name, quantity, unit_price_minor)
                SELECT o.id, k, \(prefix) || '-' || lpad((1 + (abs(hashtext(o.id::text)) + k) % 60)::text, 3, '0'), 'probe', 1, 100
                FROM o, generate_series(1, 3) k)
            INSERT INTO ordering.status_history (order_id, from_status, to_status, reason, cause_kind, cause_id, actor)
            SELECT o.id, s.f, s.t, s.r, 'request', 'test', 'customer:' || \(customer)
            FROM o, (VALUES (NULL, 'PENDING', NULL), ('PENDING', 'CANCELLED', 'customer')) s(f, t, r)
            """)

        let logger = Logger(label: "graphql-test")
        let database = PostgresRouter(primary: fleet.database, replica: nil, logger: logger)
        let redis = RedisPool(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1"), logger: logger)
        let orders = OrderService(database: database, redis: redis, timings: OrderTimings(), logger: logger)
        let endpoint = try GraphQLEndpoint(
            resolver: StorefrontResolver(
                catalog: CatalogStore(database: database), orders: orders, carts: CartService(database: database, orders: orders),
                administration: OrderAdministration(database: database), feed: NotificationFeed(database: database)),
            limits: QueryLimits(maximumDepth: 15, maximumComplexity: 100_000), logger: logger)
        let caller = Caller(id: customer, role: .customer)

        func statements(_ query: String, first: Int) async throws -> (count: Int, items: Int) {
            let counter = PostgresStatementCount()
            let evaluation = await PostgresStatementCount.$current.withValue(counter) {
                await endpoint.evaluate(GraphQLEndpoint.Operation(query: query, variables: ["first": .number(Number(first))]), caller: caller)
            }
            try #require(evaluation.result.errors.isEmpty, "\(evaluation.result.errors)")
            guard case .dictionary(let data)? = evaluation.result.data, case .dictionary(let root)? = data.values.first,
                case .array(let nodes)? = root["nodes"]
            else { throw GraphQLError(message: "no nodes in \(String(describing: evaluation.result.data))") }
            return (counter.value, nodes.count)
        }

        let products = #"query($first: Int) { products(first: $first, filter: {text: "\#(prefix)"}) { nodes { sku stock inStock } } }"#
        let small = try await statements(products, first: 2)
        let large = try await statements(products, first: 50)
        #expect((small.items, large.items) == (2, 50))
        #expect(large.count == small.count, "products: \(small.count) statements for 2, \(large.count) for 50")
        #expect(large.count == 1)

        let ordered = "query($first: Int) { orders(first: $first) { nodes { id lines { sku product { sku stock } } history { from to } } } }"
        let fewOrders = try await statements(ordered, first: 2)
        let manyOrders = try await statements(ordered, first: 50)
        #expect((fewOrders.items, manyOrders.items) == (2, 50))
        #expect(manyOrders.count == fewOrders.count, "orders: \(fewOrders.count) statements for 2, \(manyOrders.count) for 50")
        // The page, the lines' products, the histories.
        #expect(manyOrders.count == 3)

        try await fleet.database.execute("""
            WITH o AS (SELECT id FROM ordering.orders WHERE customer_id = \(customer)),
            h AS (DELETE FROM ordering.status_history WHERE order_id IN (SELECT id FROM o)),
            l AS (DELETE FROM ordering.order_lines WHERE order_id IN (SELECT id FROM o))
            DELETE FROM ordering.orders WHERE id IN (SELECT id FROM o)
            """)
        try await fleet.database.execute("""
            WITH s AS (DELETE FROM catalog.stock WHERE sku LIKE \(prefix) || '-%')
            DELETE FROM catalog.products WHERE sku LIKE \(prefix) || '-%'
            """)
    }

    @Test("a stock client (Python's graphql-core over plain HTTP) reads the served schema, equal to docs/graphql/schema.graphql, and runs GET and POST")
    func stockClient() async throws {
        let fleet = try await PipelineFleet.shared.get()
        let script = PipelineFleet.repositoryRoot.appendingPathComponent("Tests/graphql_client.py").path
        let schema = PipelineFleet.repositoryRoot.appendingPathComponent("docs/graphql/schema.graphql").path
        let token = try await APIClient.tokens.token(subject: "graphql-python-\(UUID())", role: "customer")
        let output = try await ChildProcess.shell(
            "'\(SMTPCatcher.python)' '\(script)' --url '\(fleet.apiURL.absoluteString)/graphql' --schema '\(schema)' --token '\(token)' 2>&1; echo \"exit=$?\"",
            timeout: .seconds(120))
        #expect(output.hasSuffix("exit=0\n"), "\(output)")
    }
}
