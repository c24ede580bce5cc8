/// What commands on a connection left behind for whoever uses it next. A pool must not hand on a
/// connection with an open MULTI (the next SET would answer QUEUED), a WATCH, another database
/// selected or subscriptions.
struct RedisSessionState {
    private var inTransaction = false
    private var watching = false
    /// SELECT, SUBSCRIBE and the like: nothing undoes them reliably, so the connection is spent.
    private var altered = false

    var isClean: Bool { !inTransaction && !watching && !altered }

    mutating func record(_ arguments: [RedisArgument]) {
        guard let first = arguments.first, first.count <= 12 else { return }
        // Runs for every command: a name of up to 12 bytes is a small string, no allocation.
        switch first.withUnsafeBytes({ String(decoding: $0, as: UTF8.self) }).uppercased() {
        case "MULTI": inTransaction = true
        case "EXEC", "DISCARD":
            inTransaction = false
            watching = false
        case "WATCH": watching = true
        case "UNWATCH": watching = false
        case "SELECT", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR", "CLIENT", "READONLY", "RESET", "HELLO", "AUTH":
            altered = true
        default: break
        }
    }
}
