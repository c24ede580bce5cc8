// The auth domain's rules and types come with it: who uses the domain uses its core's `Account`,
// `AuthPolicy` and `Credentials` without naming the module.
@_exported public import AuthCore
