import CLibPQ

extension PGConnectionHandle {
    /// Sends every statement before reading any result (libpq pipeline mode), then one sync.
    ///
    /// The statements between two syncs form one implicit transaction on the server: if one
    /// fails, the ones after it are skipped, the batch is rolled back, and the first error is
    /// thrown. Inside an explicit transaction the batch becomes part of it.
    func pipeline(_ queries: [PostgresQuery]) throws -> [PostgresRows] {
        guard !queries.isEmpty else { return [] }
        for query in queries { try Self.checkParameters(query) }
        // Each statement runs by name, prepared on its first use on this connection (a round trip
        // then, none after), as `execute` does; past the cache's limit, unnamed.
        let names = try queries.map { try preparedName(for: $0) }
        return try pipelineAfterHeld(queries, preparedNames: names)
    }

    /// Sends `leadingStatement` (a BEGIN), then the queries, then one sync; returns the queries' results.
    func pipeline(_ queries: [PostgresQuery], preparedNames: [String?], leadingStatement: String?) throws -> [PostgresRows] {
        guard PQenterPipelineMode(connection) == 1 else { throw connectionError() }
        // Sending without blocking, and reading whatever arrives meanwhile, keeps a large batch
        // from deadlocking with a server that is blocked writing results we are not reading yet.
        PQsetnonblocking(connection, 1)
        do {
            if let leadingStatement {
                guard PQsendQueryParams(connection, leadingStatement, 0, nil, nil, nil, nil, 0) == 1 else { throw connectionError() }
            }
            for (query, name) in zip(queries, preparedNames) {
                let sent = withParameterValues(query.binds) { values in
                    if let name {
                        return PQsendQueryPrepared(connection, name, Int32(query.binds.count), values, nil, nil, 0)
                    }
                    return query.binds.map { Oid($0.type.rawValue) }.withUnsafeBufferPointer { types in
                        PQsendQueryParams(connection, query.sql, Int32(types.count), types.baseAddress, values, nil, nil, 0)
                    }
                }
                guard sent == 1 else { throw connectionError() }
                try flushWhileReading(untilEmpty: false)
            }
            guard PQpipelineSync(connection) == 1 else { throw connectionError() }
            try flushWhileReading(untilEmpty: true)
        } catch {
            PQsetnonblocking(connection, 0)
            // Leaves pipeline mode if nothing was queued; otherwise the connection stays in it and
            // is not reusable, so the pool drops it.
            PQexitPipelineMode(connection)
            throw error
        }
        PQsetnonblocking(connection, 0)

        var results: [PostgresRows] = []
        results.reserveCapacity(queries.count)
        var firstError: PostgresError?
        if leadingStatement != nil {
            guard let result = PQgetResult(connection) else { throw connectionError() }
            if PQresultStatus(result) != PGRES_COMMAND_OK { firstError = serverError(result) }
            PQclear(result)
            while let extra = PQgetResult(connection) { PQclear(extra) }
        }
        for index in queries.indices {
            guard let result = PQgetResult(connection) else { throw connectionError() }
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
                results.append(Self.rows(from: result))
            case PGRES_PIPELINE_ABORTED:
                break
            default:
                let error = serverError(result)
                if firstError == nil {
                    firstError = PostgresError(
                        error.code, "statement \(index + 1) of \(queries.count) in the batch failed: \(error.message)",
                        sqlState: error.sqlState, detail: error.detail, server: address)
                }
            }
            PQclear(result)
            // Each statement's results end with a NULL.
            while let extra = PQgetResult(connection) { PQclear(extra) }
        }
        guard let sync = PQgetResult(connection) else { throw connectionError() }
        let syncStatus = PQresultStatus(sync)
        PQclear(sync)
        guard syncStatus == PGRES_PIPELINE_SYNC else { throw Self.lostSyncPoint(firstError, server: address) }
        guard PQexitPipelineMode(connection) == 1 else { throw connectionError() }
        if let firstError {
            if Self.invalidatesPreparedStatement(firstError) {
                for (query, name) in zip(queries, preparedNames) where name != nil { forgetPreparedStatement(for: query) }
            }
            throw firstError
        }
        return results
    }

    /// Flushes the output buffer, reading input whenever the socket has some, so neither side
    /// blocks on a full buffer. With `untilEmpty: false` it returns as soon as libpq would not block.
    private func flushWhileReading(untilEmpty: Bool) throws {
        while true {
            let flushed = PQflush(connection)
            if flushed == 0 { return }
            if flushed < 0 { throw connectionError() }
            if !untilEmpty { return }
            guard emp_pq_wait(socket, 1, 10_000) >= 0 else { throw connectionError(message: "poll failed") }
            guard PQconsumeInput(connection) == 1 else { throw connectionError() }
        }
    }

    /// The batch's end never came: the session ended mid-batch (a FATAL such as 57P01 when the
    /// server shuts down, or a cut socket), so the connection is unusable, a lost connection, even
    /// while libpq still reports it open (seen under a primary's fast shutdown: the error then
    /// read as a non-retriable server error, and a message being handled was dead-lettered).
    static func lostSyncPoint(_ firstError: PostgresError?, server: String) -> PostgresError {
        if let firstError, firstError.isConnectionLoss { return firstError }
        return PostgresError(
            .connectionClosed, "pipeline lost its sync point" + (firstError.map { " after: \($0.message)" } ?? ""), server: server)
    }
}
