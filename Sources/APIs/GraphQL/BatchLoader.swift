/// Loads values by key for one GraphQL request, many keys per statement. A resolver that returns
/// a list announces the keys its items' fields will ask for (``expect(_:)``); the first
/// ``load(_:)`` of any key then fetches every announced key not yet fetched, in one call, and the
/// other items' loads wait for that same call. A page of 50 orders thus costs one statement for
/// all their histories, not 50 (the "N+1" a field resolver per item would cause).
///
/// Deterministic by construction: no batching window, no timer. A key nobody announced is fetched
/// in a batch of its own (still once).
actor BatchLoader<Key: Hashable & Sendable, Value: Sendable> {
    private let fetch: @Sendable (Set<Key>) async throws -> [Key: Value]
    private var expected: Set<Key> = []
    private var fetching: [Key: Task<[Key: Value], any Error>] = [:]

    init(fetch: @escaping @Sendable (Set<Key>) async throws -> [Key: Value]) {
        self.fetch = fetch
    }

    /// Announces keys that fields are about to load.
    func expect(_ keys: some Sequence<Key> & Sendable) {
        expected.formUnion(keys)
    }

    /// The value for `key` (nil: there is none), fetched with every other announced key.
    func load(_ key: Key) async throws -> Value? {
        if let task = fetching[key] { return try await task.value[key] }
        var batch = expected.filter { fetching[$0] == nil }
        batch.insert(key)
        let fetch = self.fetch
        // Not a child task: the loads of every item wait on it. It inherits the request's task
        // locals (the statement count of a test, the trace).
        let task = Task { try await fetch(batch) }
        for member in batch { fetching[member] = task }
        return try await task.value[key]
    }
}
