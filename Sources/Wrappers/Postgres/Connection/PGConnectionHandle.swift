import CLibPQ
import Foundation
import Logging
import Synchronization

/// Owns one `PGconn`.
///
/// Attached to a ``SocketEventLoop`` (as every pooled connection is), the socket does not block:
/// statements are sent, and the calling task suspends until the loop sees the answer arrive.
/// Without a loop (the listener's connection, on a thread of its own) only the blocking calls
/// (``executeBlocking(_:)``, notifications) work. The owner uses it from one task at a time (libpq connections are not thread-safe).
final class PGConnectionHandle {
    let connection: OpaquePointer
    /// For `PQcancel`, which libpq documents as safe to call from another thread.
    private let cancelHandle: OpaquePointer?
    /// The notice receiver's context; released in `deinit` after `PQfinish`, which is the last
    /// call that can invoke the receiver.
    private let noticeContext: Unmanaged<NoticeContext>
    let address: String
    /// The loop that watches the socket, once attached.
    private(set) var loop: SocketEventLoop?
    /// This connection among all of the process's, for its loop (a socket number is not: libpq
    /// closes a broken connection's socket, and the number comes back with a new connection).
    private let id = PGConnectionHandle.ids.add(1, ordering: .relaxed).newValue
    private static let ids = Atomic<UInt64>(0)
    /// The socket the loop watches for this connection, kept to forget it even after libpq
    /// closed it (then `PQsocket` says -1).
    private var watchedSocket: Int32 = -1
    /// The prepared statements on this connection, by SQL and parameter types.
    private var preparedStatements = PreparedStatements()
    /// A BEGIN (and the transaction's settings) not sent yet; they leave with the transaction's
    /// first statement. Empty when no transaction waits to be opened.
    private var deferredBegin: [String] = []
    /// Statements of the open transaction whose results nobody reads, held to go out in one
    /// round trip with the next statement or the COMMIT (see ``deferStatement(_:)``), each with
    /// the result its caller may look at later.
    private var deferredStatements: [(query: PostgresQuery, result: PostgresDeferredResult)] = []
    private var nextStatementNumber = 0
    private static let preparedStatementLimit = 512

    private init(connection: OpaquePointer, noticeContext: Unmanaged<NoticeContext>, address: String) {
        self.connection = connection
        self.cancelHandle = PQgetCancel(connection)
        self.noticeContext = noticeContext
        self.address = address
    }

    deinit {
        if watchedSocket >= 0 { loop?.forget(watchedSocket, owner: id) }
        if let cancelHandle { PQfreeCancel(cancelHandle) }
        PQfinish(connection)
        noticeContext.release()
    }

    /// Opens a connection (blocking, bounded by the connect time-out); the error names the
    /// server, the database and the user.
    static func connect(_ configuration: PostgresConfiguration, logger: Logger) throws -> PGConnectionHandle {
        let timeoutSeconds = max(2, Int(configuration.connectTimeout.components.seconds))
        var parameters: [(String, String)] = [
            ("host", configuration.host),
            ("port", String(configuration.port)),
            ("user", configuration.user),
            ("dbname", configuration.database),
            ("connect_timeout", String(timeoutSeconds)),
            ("application_name", configuration.applicationName),
            ("client_encoding", "UTF8"),
            // PGOPTIONS (or the configuration's), then what decoding relies on.
            ("options", configuration.libpqOptions),
        ]
        if let password = configuration.password { parameters.append(("password", password)) }
        parameters += configuration.libpqParameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }

        let connection = withCStringArrays(parameters.map(\.0), parameters.map(\.1)) { keys, values in
            PQconnectdbParams(keys, values, 0)
        }
        guard let connection else {
            throw PostgresError(.connectionFailed, "out of memory", server: configuration.address)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(connection)
            throw PostgresError(
                .connectionFailed,
                "cannot connect to PostgreSQL at \(configuration.address) (database \"\(configuration.database)\", user \"\(configuration.user)\"): \(message)",
                server: configuration.address)
        }
        let context = Unmanaged.passRetained(NoticeContext(logger: logger, address: configuration.address))
        PQsetNoticeReceiver(connection, { context, result in
            guard let context, let result else { return }
            let notice = Unmanaged<NoticeContext>.fromOpaque(context).takeUnretainedValue()
            let message = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
            notice.logger.debug("postgres notice", metadata: ["postgres.server": "\(notice.address)", "postgres.notice": "\(message)"])
        }, context.toOpaque())
        return PGConnectionHandle(connection: connection, noticeContext: context, address: configuration.address)
    }

    /// Makes the socket non-blocking and lets `loop` watch it.
    func attach(to loop: SocketEventLoop) throws {
        guard PQsetnonblocking(connection, 1) == 0 else { throw connectionError() }
        self.loop = loop
    }

    // MARK: - State

    /// Connected, and not inside a transaction or a failed one.
    var isIdleAndHealthy: Bool {
        PQstatus(connection) == CONNECTION_OK && PQtransactionStatus(connection) == PQTRANS_IDLE
            && PQpipelineStatus(connection) == PQ_PIPELINE_OFF && deferredBegin.isEmpty && deferredStatements.isEmpty
    }

    var isConnected: Bool { PQstatus(connection) == CONNECTION_OK }

    var socket: Int32 { PQsocket(connection) }

    /// Asks the server to cancel the statement running on this connection. Thread-safe.
    func cancelRunningQuery() {
        guard let cancelHandle else { return }
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancelHandle, &buffer, Int32(buffer.count))
    }

    // MARK: - Waiting for the server

    /// Until the socket is ready, suspended on the loop. Only an attached connection waits: the
    /// listener's connection, which has no loop, uses ``executeBlocking(_:)`` alone.
    private func waitForSocket(forWrite: Bool) async throws {
        guard let loop else {
            throw PostgresError(.connectionClosed, "a connection without an event loop cannot wait for its socket", server: address)
        }
        let socket = self.socket
        if socket != watchedSocket {
            if watchedSocket >= 0 { loop.forget(watchedSocket, owner: id) }
            watchedSocket = socket
        }
        await loop.waitUntilReady(socket, owner: id, forWrite: forWrite)
    }

    /// Sends what libpq holds, reading whatever arrives meanwhile, so neither side blocks on a
    /// full buffer (a large batch against a server busy writing results we are not reading yet).
    func flush() async throws {
        while true {
            switch PQflush(connection) {
            case 0: return
            case 1: break
            default: throw connectionError()
            }
            try await waitForSocket(forWrite: true)
            guard PQconsumeInput(connection) == 1 else { throw connectionError() }
        }
    }

    /// The next result, once it has arrived in full (`PQgetResult`, which never blocks then);
    /// nil when the statement's results are all read.
    func nextResult() async throws -> OpaquePointer? {
        while PQisBusy(connection) == 1 {
            // Over TLS, OpenSSL may hold decrypted bytes already: the socket will not signal them.
            if emp_pq_ssl_pending(connection) <= 0 { try await waitForSocket(forWrite: false) }
            guard PQconsumeInput(connection) == 1 else { throw connectionError() }
        }
        guard let result = PQgetResult(connection) else { return nil }
        switch PQresultStatus(result) {
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            // A COPY would hand out a result per call and never the NULL that ends the
            // statement. Not supported; the connection stays mid-COPY, so the pool drops it.
            PQclear(result)
            throw PostgresError(.invalidValue, "COPY FROM STDIN / TO STDOUT is not supported on this connection", server: address)
        default:
            return result
        }
    }

    /// A failed batch can leave libpq in pipeline mode with commands queued; anything sent after
    /// that would wait for results that never come (no sync follows), so it is refused.
    func checkUsable() throws {
        guard PQpipelineStatus(connection) == PQ_PIPELINE_OFF else {
            throw PostgresError(.connectionClosed, "the connection was left in the middle of a failed batch and cannot be used", server: address)
        }
    }

    /// Sends a command with `send` and reads all its results: the first error if one failed (a
    /// script stops there), else the first result's rows.
    private func roundTrip(sql: String, _ send: () -> Int32) async throws -> PostgresRows {
        guard send() == 1 else { throw connectionError() }
        try await flush()
        var rows: PostgresRows?
        var firstError: (any Error)?
        while let result = try await nextResult() {
            do {
                let current = try consume(result, sql: sql)
                if rows == nil { rows = current }
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
        guard let rows else { throw connectionError() }
        return rows
    }

    // MARK: - Statements

    /// Runs one statement through a prepared statement cached on this connection. A deferred
    /// BEGIN (see ``beginDeferred(_:)``) goes out in the same round trip.
    func execute(_ query: PostgresQuery) async throws -> PostgresRows {
        try Self.checkParameters(query)
        let name = try await preparedName(for: query)
        if !deferredBegin.isEmpty || !deferredStatements.isEmpty {
            return try await pipelineAfterHeld([query], preparedNames: [name])[0]
        }
        do {
            return try await run(query, preparedName: name)
        } catch let error as PostgresError where name != nil && Self.invalidatesPreparedStatement(error) {
            // "cached plan must not change result type": a table behind the statement changed
            // shape. Forget it, so the next use prepares it again; outside a transaction it is
            // safe to do that now and retry once.
            await forgetPreparedStatement(for: query)
            guard PQtransactionStatus(connection) == PQTRANS_IDLE else { throw error }
            return try await run(query, preparedName: try await preparedName(for: query))
        }
    }

    /// Runs a parameterless command and blocks until it is done: for a connection without a loop.
    func executeBlocking(_ sql: String) throws {
        try consume(PQexec(connection, sql), sql: sql)
    }

    /// libpq takes parameters as C strings: a NUL would silently cut the value short.
    static func checkParameters(_ query: PostgresQuery) throws {
        for (index, bind) in query.binds.enumerated() where bind.text?.utf8.contains(0) == true {
            throw PostgresError(.invalidValue, "parameter $\(index + 1) contains a NUL character, which PostgreSQL text cannot hold")
        }
    }

    static func invalidatesPreparedStatement(_ error: PostgresError) -> Bool {
        error.sqlState == "0A000" || error.sqlState == "26000"
    }

    private func run(_ query: PostgresQuery, preparedName name: String?) async throws -> PostgresRows {
        PostgresStatementCount.addRoundTrip()
        return try await roundTrip(sql: query.sql) { send(query, preparedName: name) }
    }

    /// Queues `query` for sending (by name if prepared), as `PQsendQuery*` does; 1 when queued.
    func send(_ query: PostgresQuery, preparedName name: String?) -> Int32 {
        withParameterValues(query.binds) { values in
            if let name {
                return PQsendQueryPrepared(connection, name, Int32(query.binds.count), values, nil, nil, 0)
            }
            return query.binds.map { Oid($0.type.rawValue) }.withUnsafeBufferPointer { types in
                PQsendQueryParams(connection, query.sql, Int32(types.count), types.baseAddress, values, nil, nil, 0)
            }
        }
    }

    func forgetPreparedStatement(for query: PostgresQuery) async {
        guard let name = preparedStatements.remove(query) else { return }
        // Inside a failed transaction this DEALLOCATE fails too; the name is then merely unused.
        let sql = "DEALLOCATE \(name)"
        _ = try? await roundTrip(sql: sql) { PQsendQuery(connection, sql) }
    }

    /// The statement's name on this connection, preparing it on first use (while the cache has
    /// room; beyond it, statements run unnamed).
    func preparedName(for query: PostgresQuery, prepareIfNew: Bool = true) async throws -> String? {
        guard query.prepares else { return nil }
        if let name = preparedStatements.name(for: query) { return name }
        guard prepareIfNew, preparedStatements.count < Self.preparedStatementLimit else { return nil }
        nextStatementNumber += 1
        let name = "emporium_\(nextStatementNumber)"
        let types = query.binds.map { Oid($0.type.rawValue) }
        _ = try await roundTrip(sql: query.sql) {
            types.withUnsafeBufferPointer { types in
                PQsendPrepare(connection, name, query.sql, Int32(types.count), types.baseAddress)
            }
        }
        preparedStatements.add(name, for: query)
        return name
    }

    // MARK: - Transactions

    /// Remembers a BEGIN (and statements that set up the transaction, such as `SET LOCAL`) to send
    /// together with the transaction's first statement, saving a round trip per transaction. A
    /// transaction that ends before any statement never reaches the server.
    func beginDeferred(_ statements: [String]) {
        deferredBegin = statements
    }

    /// The deferred BEGIN's statements, now owned by the caller; empty if there were none.
    func takeDeferredBegin() -> [String] {
        defer { deferredBegin = [] }
        return deferredBegin
    }

    /// Holds `query` (a statement of the open transaction whose result is not needed) to send it
    /// with the transaction's next statement or its COMMIT, in the same round trip: a statement
    /// written while row locks are held then costs no wait of its own. Its error, if any, is
    /// thrown by that next statement or the COMMIT. Outside a transaction it runs now.
    func deferStatement(_ query: PostgresQuery) async throws -> PostgresDeferredResult {
        let result = PostgresDeferredResult()
        guard !deferredBegin.isEmpty || PQtransactionStatus(connection) == PQTRANS_INTRANS else {
            result.settle(.done(try await execute(query)))
            return result
        }
        try Self.checkParameters(query)
        // Prepared now on its first use on this connection, so that it runs by name later.
        _ = try await preparedName(for: query)
        deferredStatements.append((query, result))
        return result
    }

    /// Sends a deferred BEGIN and the held statements, then `queries`, in one pipeline; returns
    /// the results of `queries`.
    func pipelineAfterHeld(_ queries: [PostgresQuery], preparedNames: [String?]) async throws -> [PostgresRows] {
        let held = deferredStatements
        deferredStatements = []
        var heldNames: [String?] = []
        for (query, _) in held { heldNames.append(try await preparedName(for: query, prepareIfNew: false)) }
        let results = try await pipeline(
            held.map { $0.query } + queries, preparedNames: heldNames + preparedNames, leadingStatements: takeDeferredBegin()
        ) { index, outcome in
            if index < held.count { held[index].result.settle(outcome) }
        }
        return Array(results.dropFirst(held.count))
    }

    /// COMMIT, or nothing if the transaction never sent a statement. A transaction an earlier
    /// error aborted cannot commit: the server would answer COMMIT with ROLLBACK, so this throws.
    /// Held statements go out first, with the COMMIT in the same round trip; if one fails, the
    /// transaction is rolled back and its error thrown.
    func commit() async throws {
        if !deferredStatements.isEmpty, PQtransactionStatus(connection) != PQTRANS_INERROR {
            do {
                _ = try await pipelineAfterHeld([PostgresQuery("COMMIT")], preparedNames: [nil])
            } catch {
                if PQtransactionStatus(connection) != PQTRANS_IDLE { _ = try? await execute(PostgresQuery("ROLLBACK")) }
                throw error
            }
            return
        }
        deferredStatements = []
        guard takeDeferredBegin().isEmpty else { return }
        if PQtransactionStatus(connection) == PQTRANS_INERROR {
            _ = try? await execute(PostgresQuery("ROLLBACK"))
            throw PostgresError(
                .server, "the transaction was aborted by an earlier error and has been rolled back", sqlState: "25P02", server: address)
        }
        _ = try await execute(PostgresQuery("COMMIT"))
    }

    /// ROLLBACK, or nothing if the transaction never sent a statement.
    func rollback() async throws {
        deferredStatements = []
        guard takeDeferredBegin().isEmpty else { return }
        _ = try await execute(PostgresQuery("ROLLBACK"))
    }

    /// Runs SQL text that may hold several statements and no parameters (migrations). An error
    /// stops the script there and is thrown.
    func executeScript(_ sql: String) async throws {
        if !deferredStatements.isEmpty { _ = try await pipelineAfterHeld([], preparedNames: []) }
        for statement in takeDeferredBegin() { _ = try await execute(PostgresQuery(statement)) }
        _ = try await roundTrip(sql: sql) { PQsendQuery(connection, sql) }
    }

    /// Turns a `PGresult` into rows, or into an error; always clears it.
    @discardableResult
    func consume(_ result: OpaquePointer?, sql: String) throws -> PostgresRows {
        guard let result else { throw connectionError() }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.rows(from: result)
        default:
            throw serverError(result)
        }
    }

    static func rows(from result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var columns: [String] = []
        var types: [PostgresDataType] = []
        columns.reserveCapacity(columnCount)
        types.reserveCapacity(columnCount)
        for column in 0..<Int32(columnCount) {
            columns.append(String(cString: PQfname(result, column)))
            types.append(PostgresDataType(rawValue: PQftype(result, column)))
        }
        var cells: [String?] = []
        cells.reserveCapacity(rowCount * columnCount)
        for row in 0..<Int32(rowCount) {
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    cells.append(nil)
                } else {
                    let length = Int(PQgetlength(result, row, column))
                    let value = PQgetvalue(result, row, column)!
                    cells.append(value.withMemoryRebound(to: UInt8.self, capacity: length) {
                        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                    })
                }
            }
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? rowCount
        return PostgresRows(columns: columns, columnTypes: types, cells: cells, affectedRows: affected)
    }

    // MARK: - Errors

    func serverError(_ result: OpaquePointer) -> PostgresError {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        guard let sqlState = field("C") else {
            // No SQLSTATE: libpq itself failed, usually because the connection is gone.
            return connectionError(message: String(cString: PQresultErrorMessage(result)))
        }
        return PostgresError(
            .server, field("M") ?? "unknown error", sqlState: sqlState, detail: field("D"), constraint: field("n"), server: address)
    }

    func connectionError(message: String? = nil) -> PostgresError {
        let text = (message ?? String(cString: PQerrorMessage(connection))).trimmingCharacters(in: .whitespacesAndNewlines)
        return PostgresError(
            isConnected ? .server : .connectionClosed,
            text.isEmpty ? "connection to \(address) lost" : text, server: address)
    }
}

/// What the notice receiver callback needs, passed to libpq as an opaque pointer.
final class NoticeContext {
    let logger: Logger
    let address: String
    init(logger: Logger, address: String) {
        self.logger = logger
        self.address = address
    }
}

// MARK: - C string helpers

/// Prepared statements' names by SQL and parameter types. A look-up hashes the SQL and compares
/// the types in place: a key built per execution (the SQL copied, each type's number appended)
/// cost several allocations a statement.
struct PreparedStatements {
    private var byText: [String: [(types: [UInt32], name: String)]] = [:]
    private(set) var count = 0

    func name(for query: PostgresQuery) -> String? {
        byText[query.sql]?.first { Self.matches($0.types, query) }?.name
    }

    mutating func add(_ name: String, for query: PostgresQuery) {
        byText[query.sql, default: []].append((query.binds.map(\.type.rawValue), name))
        count += 1
    }

    mutating func remove(_ query: PostgresQuery) -> String? {
        guard let index = byText[query.sql]?.firstIndex(where: { Self.matches($0.types, query) }) else { return nil }
        count -= 1
        let name = byText[query.sql]!.remove(at: index).name
        if byText[query.sql]!.isEmpty { byText[query.sql] = nil }
        return name
    }

    private static func matches(_ types: [UInt32], _ query: PostgresQuery) -> Bool {
        guard types.count == query.binds.count else { return false }
        for (type, bind) in zip(types, query.binds) where type != bind.type.rawValue { return false }
        return true
    }
}

/// Calls `body` with NULL-terminated arrays of C strings, as `PQconnectdbParams` wants them.
func withCStringArrays<R>(
    _ keys: [String], _ values: [String],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> R
) -> R {
    let keyPointers = keys.map { UnsafePointer(strdup($0)) } + [nil]
    let valuePointers = values.map { UnsafePointer(strdup($0)) } + [nil]
    defer {
        keyPointers.forEach { free(UnsafeMutablePointer(mutating: $0)) }
        valuePointers.forEach { free(UnsafeMutablePointer(mutating: $0)) }
    }
    return keyPointers.withUnsafeBufferPointer { keys in
        valuePointers.withUnsafeBufferPointer { values in body(keys.baseAddress!, values.baseAddress!) }
    }
}

/// Calls `body` with the parameters' text values (NULL for SQL NULL). Every value is copied,
/// NUL-terminated, into one buffer, and the pointers into it go in one array: two allocations a
/// statement, where a C string per value took two each (its `utf8CString` and its copy), some
/// fifty an order in the API (docs/benchmarks.md, "Allocations an order").
func withParameterValues<R>(_ binds: [PostgresBind], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    if binds.isEmpty { return body(nil) }
    var size = 0
    for bind in binds { if let text = bind.text { size += text.utf8.count + 1 } }
    let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(size, 1))
    defer { buffer.deallocate() }
    let values = UnsafeMutableBufferPointer<UnsafePointer<CChar>?>.allocate(capacity: binds.count)
    defer { values.deallocate() }
    var offset = 0
    for (index, bind) in binds.enumerated() {
        guard let text = bind.text else {
            values[index] = nil
            continue
        }
        let start = buffer.baseAddress! + offset
        let copied = text.utf8.withContiguousStorageIfAvailable { bytes in
            if let source = bytes.baseAddress { UnsafeMutableRawPointer(start).copyMemory(from: source, byteCount: bytes.count) }
            return bytes.count
        }
        if let copied {
            offset += copied
        } else {
            for byte in text.utf8 {
                buffer[offset] = CChar(bitPattern: byte)
                offset += 1
            }
        }
        buffer[offset] = 0
        offset += 1
        values[index] = UnsafePointer(start)
    }
    return body(UnsafePointer(values.baseAddress))
}
