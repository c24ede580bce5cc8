@_exported public import ConnectionPool
