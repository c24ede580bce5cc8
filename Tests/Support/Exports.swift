@_exported public import ConnectionPool
@_exported public import Processes
