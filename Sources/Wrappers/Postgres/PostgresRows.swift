/// The result of one statement: its columns, its rows (copied out of libpq) and the number of
/// rows it affected.
public struct PostgresRows: Sendable, RandomAccessCollection {
    public let columns: [String]
    public let columnTypes: [PostgresDataType]
    /// Rows affected by INSERT/UPDATE/DELETE (or returned by SELECT).
    public let affectedRows: Int
    let cells: [String?]
    let columnIndex: [String: Int]

    init(columns: [String], columnTypes: [PostgresDataType], cells: [String?], affectedRows: Int) {
        self.columns = columns
        self.columnTypes = columnTypes
        self.cells = cells
        self.affectedRows = affectedRows
        var index: [String: Int] = [:]
        for (position, name) in columns.enumerated() where index[name] == nil { index[name] = position }
        self.columnIndex = index
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { columns.isEmpty ? 0 : cells.count / columns.count }
    public subscript(position: Int) -> PostgresRow { PostgresRow(rows: self, index: position) }

    /// The first row, or a decoding error if there is none.
    public func single() throws -> PostgresRow {
        guard let row = first else { throw PostgresError(.decoding, "expected a row, got none") }
        return row
    }
}

/// One row of a ``PostgresRows``; cells decode by column name or position.
public struct PostgresRow: Sendable {
    let rows: PostgresRows
    let index: Int

    /// Decodes the cell in `column`. A NULL decodes only into an optional; a cell that does not
    /// parse as `T` throws a ``PostgresError`` naming the column.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let position = rows.columnIndex[column] else {
            throw PostgresError(.decoding, "no such column in the result (columns: \(rows.columns.joined(separator: ", ")))", column: column)
        }
        return try decode(at: position, as: type)
    }

    /// Decodes the cell at a zero-based column position.
    public func decode<T: PostgresDecodable>(at position: Int, as type: T.Type = T.self) throws -> T {
        guard position >= 0, position < rows.columns.count else {
            throw PostgresError(.decoding, "column position \(position) is out of range (\(rows.columns.count) columns)")
        }
        let column = rows.columns[position]
        do {
            guard let text = rows.cells[index * rows.columns.count + position] else { return try T.decodeNull() }
            return try T.decode(postgresText: Substring(text), type: rows.columnTypes[position])
        } catch let failure as PostgresDecodingFailure {
            throw PostgresError(.decoding, failure.reason, column: column)
        }
    }

    /// Whether the cell in `column` is NULL.
    public func isNull(_ column: String) -> Bool {
        guard let position = rows.columnIndex[column] else { return true }
        return rows.cells[index * rows.columns.count + position] == nil
    }
}
