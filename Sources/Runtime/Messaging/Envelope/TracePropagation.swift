public import Instrumentation
import ServiceContextModule
import Tracing

/// W3C trace context across hops, through swift-distributed-tracing when a tracer records spans
/// (the current span's traceparent), and by itself otherwise (a new span id in the parent's trace).
public enum TracePropagation {
    /// The `traceparent` of a message sent now, on behalf of `parent` (the request's or the
    /// handled message's) when no span is current.
    public static func outgoing(parent: String?) -> String {
        var carrier: [String: String] = [:]
        if let context = ServiceContext.current {
            InstrumentationSystem.instrument.inject(context, into: &carrier, using: HeaderInjector())
        }
        if let injected = carrier["traceparent"], TraceParent(injected) != nil { return injected }
        return TraceParent.continuing(parent).description
    }

    /// A service context carrying `traceparent` (for a span whose parent is the sender's).
    public static func context(continuing traceparent: String?) -> ServiceContext {
        var context = ServiceContext.topLevel
        if let traceparent {
            InstrumentationSystem.instrument.extract(["traceparent": traceparent], into: &context, using: HeaderExtractor())
        }
        return context
    }

    struct HeaderInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    }

    struct HeaderExtractor: Extractor {
        func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    }
}
