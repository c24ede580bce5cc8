// The ordering domain's rules and types come with it: who uses the domain uses its core's
// `Order`, `OrderStatus` and `OrderTimings` without naming the module.
@_exported public import OrderingCore
