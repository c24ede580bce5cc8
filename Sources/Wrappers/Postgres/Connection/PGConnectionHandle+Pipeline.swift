import CLibPQ

extension PGConnectionHandle {
    /// Sends every statement before reading any result (libpq pipeline mode), then one sync.
    ///
    /// The statements between two syncs form one implicit transaction on the server: if one
    /// fails, the ones after it are skipped, the batch is rolled back, and the first error is
    /// thrown. Inside an explicit transaction the batch becomes part of it.
    func pipeline(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        guard !queries.isEmpty else { return [] }
        for query in queries { try Self.checkParameters(query) }
        // Each statement runs by name, prepared on its first use on this connection (a round trip
        // then, none after), as `execute` does; past the cache's limit, unnamed.
        var names: [String?] = []
        for query in queries { names.append(try await preparedName(for: query)) }
        return try await pipelineAfterHeld(queries, preparedNames: names)
    }

    /// Sends `leadingStatements` (a BEGIN and the transaction's settings), then the queries, then
    /// one sync; returns the queries' results.
    /// `settle` hears what each query came to (by index) as its answer is read.
    func pipeline(
        _ queries: [PostgresQuery], preparedNames: [String?], leadingStatements: [String],
        settle: (Int, PostgresDeferredResult.Outcome) -> Void = { _, _ in }
    ) async throws -> [PostgresRows] {
        guard PQenterPipelineMode(connection) == 1 else { throw connectionError() }
        PostgresStatementCount.addRoundTrip()
        do {
            for statement in leadingStatements {
                guard PQsendQueryParams(connection, statement, 0, nil, nil, nil, nil, 0) == 1 else { throw connectionError() }
            }
            // Queued, not sent: a batch under 8 KiB and its sync leave together in one send, so
            // the server wakes once for it. (A flush after each statement sent the transaction's
            // BEGIN and first statement ahead of the sync: two sends, and a server that had read
            // the first and gone back to waiting woke twice.) A large batch does not pile up
            // either: libpq passes on whole 8 KiB blocks as it goes.
            for (query, name) in zip(queries, preparedNames) {
                guard send(query, preparedName: name) == 1 else { throw connectionError() }
            }
            guard PQpipelineSync(connection) == 1 else { throw connectionError() }
            try await flush()
        } catch {
            // Leaves pipeline mode if nothing was queued; otherwise the connection stays in it and
            // is not reusable, so the pool drops it.
            PQexitPipelineMode(connection)
            throw error
        }

        var results: [PostgresRows] = []
        results.reserveCapacity(queries.count)
        var firstError: PostgresError?
        for _ in leadingStatements {
            guard let result = try await nextResult() else { throw connectionError() }
            if PQresultStatus(result) != PGRES_COMMAND_OK, firstError == nil { firstError = serverError(result) }
            PQclear(result)
            try await skipToEndOfStatement()
        }
        for index in queries.indices {
            guard let result = try await nextResult() else { throw connectionError() }
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
                let rows = Self.rows(from: result)
                results.append(rows)
                settle(index, .done(rows))
            case PGRES_PIPELINE_ABORTED:
                settle(index, .skipped)
            default:
                let error = serverError(result)
                settle(index, .failed(error))
                if firstError == nil {
                    firstError = PostgresError(
                        error.code, "statement \(index + 1) of \(queries.count) in the batch failed: \(error.message)",
                        sqlState: error.sqlState, detail: error.detail, constraint: error.constraint, server: address)
                }
            }
            PQclear(result)
            try await skipToEndOfStatement()
        }
        guard let sync = try await nextResult() else { throw connectionError() }
        let syncStatus = PQresultStatus(sync)
        PQclear(sync)
        guard syncStatus == PGRES_PIPELINE_SYNC else { throw Self.lostSyncPoint(firstError, server: address) }
        guard PQexitPipelineMode(connection) == 1 else { throw connectionError() }
        if let firstError {
            if Self.invalidatesPreparedStatement(firstError) {
                for (query, name) in zip(queries, preparedNames) where name != nil { await forgetPreparedStatement(for: query) }
            }
            throw firstError
        }
        return results
    }

    /// Reads past the rest of one statement's results, up to the NULL that ends them.
    private func skipToEndOfStatement() async throws {
        while let extra = try await nextResult() { PQclear(extra) }
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
