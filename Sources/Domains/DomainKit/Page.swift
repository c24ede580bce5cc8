/// A page of a list and the cursor of the next one (`nil` on the last page).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    /// From up to `limit + 1` fetched items: the first `limit`, and a cursor (`cursor` of the
    /// last kept item) when there was one more.
    public init(fetched: [Item], limit: Int, cursor: (Item) -> String) {
        let more = fetched.count > limit
        items = more ? Array(fetched.prefix(limit)) : fetched
        nextCursor = more ? items.last.map(cursor) : nil
    }
}

extension Page: Encodable where Item: Encodable {}
extension Page: Decodable where Item: Decodable {}
