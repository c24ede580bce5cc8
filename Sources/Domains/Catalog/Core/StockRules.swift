public import DomainKit

/// A quantity of one SKU.
public struct StockQuantity: Sendable, Hashable {
    public var sku: String
    public var quantity: Int

    public init(sku: String, quantity: Int) {
        self.sku = sku
        self.quantity = quantity
    }
}

/// Where a SKU's units are: a unit is always in exactly one column.
public enum StockColumn: String, Sendable, Hashable, CaseIterable {
    case available
    case reserved
    case sold
}

/// An order's reservation on the product side, decided once per order.
public enum ReservationStatus: String, Sendable, Hashable, CaseIterable {
    /// Every line was taken from `available`.
    case reserved
    /// Some line was short; nothing was taken.
    case rejected
    /// Given back (or refused ahead: a cancellation that came before its order).
    case released
    /// The reserved units were sold.
    case sold
}

/// The product side's stock rules: an order's lines are reserved all or none, released at most
/// once, and sold only from a reservation, so that for every SKU the initial stock is always
/// available + reserved + sold.
public enum StockRules {
    public enum Reservation: Sendable, Hashable {
        /// Take these from `available` (one line per SKU, in SKU order: the order rows are locked in).
        case reserve([StockQuantity])
        /// Take nothing; say what was short.
        case reject([StockShortfall])
    }

    /// One line per SKU (quantities of repeated SKUs added), in SKU order.
    public static func merged(_ lines: [StockQuantity]) -> [StockQuantity] {
        var quantities: [String: Int] = [:]
        for line in lines { quantities[line.sku, default: 0] += line.quantity }
        return quantities.keys.sorted().map { StockQuantity(sku: $0, quantity: quantities[$0]!) }
    }

    /// All or none: every line covered by `available` (live products only; a SKU missing there
    /// has none), or a rejection listing each short line.
    public static func reserve(_ lines: [StockQuantity], available: [String: Int]) -> Reservation {
        let wanted = merged(lines)
        let shortages = wanted.compactMap { line -> StockShortfall? in
            let have = available[line.sku] ?? 0
            return have >= line.quantity ? nil : StockShortfall(sku: line.sku, requested: line.quantity, available: have)
        }
        return shortages.isEmpty ? .reserve(wanted) : .reject(shortages)
    }

    /// What a reservation's change does to the stock: move the order's units between columns
    /// and record the new status, record a status alone, or nothing.
    public enum Change: Sendable, Hashable {
        case none
        /// No reservation yet: record this one so a late `order.created` reserves nothing.
        case record(ReservationStatus)
        case move(from: StockColumn, to: StockColumn, then: ReservationStatus)
    }

    /// A cancelled order gives back what it holds, once: reserved or sold units return to
    /// `available`; a rejected or released reservation has nothing to give.
    public static func release(_ status: ReservationStatus?) -> Change {
        switch status {
        case nil: .record(.released)
        case .reserved: .move(from: .reserved, to: .available, then: .released)
        case .sold: .move(from: .sold, to: .available, then: .released)
        case .rejected, .released: .none
        }
    }

    /// A completed order's reserved units are sold; anything else stays as it is.
    public static func sell(_ status: ReservationStatus?) -> Change {
        status == .reserved ? .move(from: .reserved, to: .sold, then: .sold) : .none
    }
}

extension StockRules {
    /// The available stock after an admin's adjustment of `delta` units: never below zero (units
    /// that are reserved or sold cannot be taken back this way) nor above the catalog's limit.
    public static func adjusted(available: Int, by delta: Int, sku: String) throws(DomainError) -> Int {
        let result = available + delta
        guard result >= 0 else {
            throw DomainError.conflict(
                "Only \(available) units of \(sku) are available; \(-delta) cannot be taken away.", details: ["available": .int(available)])
        }
        guard result <= 1_000_000_000 else {
            throw DomainError.invalid("delta", "the stock would exceed 1000000000 units (it is \(available))")
        }
        return result
    }
}
