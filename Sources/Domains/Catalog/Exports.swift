// The catalog's rules and types come with it: who uses the domain uses its core's `Product` and
// `StockRules` without naming the module.
@_exported public import CatalogCore
