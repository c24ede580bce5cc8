import CatalogCore
import DomainKit
import Testing

/// The product side's stock rules without a database: all-or-none reservations and a release or
/// sale that happens at most once, whatever order the messages come in.
@Suite("Stock rules")
struct StockRulesTests {
    func lines(_ pairs: (String, Int)...) -> [StockQuantity] { pairs.map { StockQuantity(sku: $0.0, quantity: $0.1) } }

    @Test("every line covered: all reserved, one line per SKU in SKU order")
    func reserveAll() {
        let decision = StockRules.reserve(lines(("TEA", 2), ("CUP", 1), ("TEA", 3)), available: ["TEA": 5, "CUP": 1])
        #expect(decision == .reserve(lines(("CUP", 1), ("TEA", 5))))
    }

    @Test("one line short: nothing reserved, each short line named with what there was")
    func reserveNone() {
        let decision = StockRules.reserve(lines(("TEA", 6), ("CUP", 1), ("GONE", 1)), available: ["TEA": 5, "CUP": 1])
        #expect(decision == .reject([
            .init(sku: "GONE", requested: 1, available: 0), .init(sku: "TEA", requested: 6, available: 5),
        ]))
    }

    @Test("a release gives back reserved or sold units once; a cancellation before its order records the release ahead", arguments: [
        (nil as ReservationStatus?, StockRules.Change.record(.released)),
        (.reserved, .move(from: .reserved, to: .available, then: .released)),
        (.sold, .move(from: .sold, to: .available, then: .released)),
        (.released, .none),
        (.rejected, .none),
    ])
    func release(status: ReservationStatus?, change: StockRules.Change) {
        #expect(StockRules.release(status) == change)
    }

    @Test("a sale takes only reserved units", arguments: ReservationStatus.allCases.map(Optional.some) + [nil])
    func sell(status: ReservationStatus?) {
        #expect(StockRules.sell(status) == (status == .reserved ? .move(from: .reserved, to: .sold, then: .sold) : .none))
    }

    @Test("whatever order release and sale come in, units are conserved and released at most once")
    func conservation() {
        // Each column's units for one order of 3, through every order of the two messages.
        for sequence in [["sell", "release"], ["release", "sell"], ["release", "release", "sell"], ["sell", "sell", "release", "release"]] {
            var columns: [StockColumn: Int] = [.available: 7, .reserved: 3, .sold: 0]
            var status: ReservationStatus? = .reserved
            var releases = 0
            for message in sequence {
                switch message == "sell" ? StockRules.sell(status) : StockRules.release(status) {
                case .none: break
                case .record(let recorded): status = recorded
                case .move(let source, let target, let next):
                    columns[source, default: 0] -= 3
                    columns[target, default: 0] += 3
                    status = next
                    if next == .released { releases += 1 }
                }
            }
            #expect(columns.values.reduce(0, +) == 10 && columns.values.allSatisfy { $0 >= 0 }, "\(sequence)")
            #expect(releases <= 1 && status == .released, "\(sequence)")
        }
    }

    @Test("product fields: every broken rule at once; a change must change something")
    func productValidation() {
        let product = NewProduct(sku: "-x", name: " ", priceMinor: -1, currency: "eur", stock: -1)
        #expect(throws: DomainError.self) { try product.validate() }
        do {
            try product.validate()
        } catch {
            #expect(error.fields.map(\.field) == ["sku", "name", "priceMinor", "currency", "stock"])
        }
        do {
            try ProductChanges().validate()
            Issue.record("an empty change was accepted")
        } catch {
            #expect(error.fields.map(\.description) == ["nothing to change: give at least one of name, description, priceMinor, currency, stock"])
        }
    }

    @Test("a change applies only while the product is as the caller read it; none listed means whatever is current")
    func readBeforeWrite() throws {
        let current = ProductTag(version: 3, available: 6)
        try ProductRules.checkUnchanged(current: current, expected: nil)
        try ProductRules.checkUnchanged(current: current, expected: [ProductTag(version: 2, available: 6), current])
        // Same version, but orders took units since: stale as well.
        for expected in [ProductTag(version: 3, available: 10), ProductTag(version: 2, available: 6)] {
            do {
                try ProductRules.checkUnchanged(current: current, expected: [expected])
                Issue.record("\(expected) passed for \(current)")
            } catch {
                #expect(error.kind == .stale && error.details["etag"] == .string("3-6"))
            }
        }
        // An If-Match whose tags were all malformed or weak lists none: it matches nothing.
        #expect(throws: DomainError.self) { try ProductRules.checkUnchanged(current: current, expected: []) }
    }

    @Test("tags read back as written; anything else is no tag")
    func tagText() {
        #expect(ProductTag("12-0") == ProductTag(version: 12, available: 0))
        for text in ["", "12", "12-", "-3", "a-1", "1-2-3", "1_2"] { #expect(ProductTag(text) == nil, "\(text)") }
    }

    @Test("an adjustment adds or takes units whatever the stock is, never below zero nor past the limit")
    func adjustments() throws {
        #expect(try StockRules.adjusted(available: 6, by: 5, sku: "S") == 11)
        #expect(try StockRules.adjusted(available: 6, by: -6, sku: "S") == 0)
        #expect(throws: DomainError.conflict("Only 6 units of S are available; 7 cannot be taken away.", details: ["available": .int(6)])) {
            try StockRules.adjusted(available: 6, by: -7, sku: "S")
        }
        do {
            _ = try StockRules.adjusted(available: 999_999_999, by: 2, sku: "S")
            Issue.record("the limit was passed")
        } catch {
            #expect(error.kind == .invalid && error.fields.map(\.field) == ["delta"])
        }
        #expect(throws: DomainError.self) { try StockAdjustment(delta: 0).validate() }
        try StockAdjustment(delta: -3, reason: "breakage").validate()
    }
}
