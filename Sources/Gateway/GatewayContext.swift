public import HTTPRuntime
public import Hummingbird

/// The request context of `emporium api`: Hummingbird's core context plus the caller and the
/// request's ids, which the middleware fill in before any route runs.
public struct GatewayContext: IdentifiedRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var caller: Caller?
    public var requestID = ""
    public var correlationID = ""

    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
    }

    /// Bodies larger than this get 413.
    public var maxUploadSize: Int { 256 * 1024 }
}
