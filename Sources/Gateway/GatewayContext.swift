public import HTTPRuntime
public import Hummingbird

/// The request context of `emporium api`: Hummingbird's core context plus the caller, the
/// request's ids and the client's address, which the middleware fill in before any route runs.
public struct GatewayContext: IdentifiedRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var caller: Caller?
    public var requestID = ""
    public var correlationID = ""
    public var traceParent = ""
    /// The peer's IP address (a proxy's, unless `X-Forwarded-For` is trusted).
    public var clientAddress: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Bodies larger than this get 413.
    public var maxUploadSize: Int { 256 * 1024 }
}
