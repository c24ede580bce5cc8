import GraphQL
import Synchronization

/// Queries that parsed and validated, by their text: a repeat skips the parse, the depth check
/// and the validation (the page sizes and the complexity depend on the variables, and are checked
/// each time). Bounded: at most ``capacity`` entries of at most ``longestQuery`` characters; when
/// full, it starts over (a storefront's few queries come back within a request or two).
final class DocumentCache: Sendable {
    static let capacity = 256
    static let longestQuery = 16_384

    /// A parsed document is never changed after parsing.
    private struct Entry: @unchecked Sendable {
        let document: Document
    }

    private let entries = Mutex<[String: Entry]>([:])

    func document(for query: String) -> Document? {
        entries.withLock { $0[query]?.document }
    }

    func keep(_ document: Document, for query: String) {
        guard query.utf8.count <= Self.longestQuery else { return }
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[query] = Entry(document: document)
        }
    }
}
