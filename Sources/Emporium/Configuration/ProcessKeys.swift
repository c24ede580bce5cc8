import DomainRuntime

/// What every role reads about itself: where it serves its metrics, how it stops, logs and
/// traces, and where its secret files are. `LOG_*` and `OTEL_*` are read before the command runs
/// (``LogSetup``, ``TraceExport``), from the environment only.
struct ProcessKeys: SettingGroup {
    var title: String { "Processes, logs and traces" }

    let metricsHost = Setting.text(
        "METRICS_HOST", default: "127.0.0.1", meaning: "where workers and the relay serve `/metrics` and the health checks")
    let metricsPort = Setting.optionalInteger(
        "METRICS_PORT", in: 0...65535, defaultText: "(per role: relay 9400, auth worker 9401, product worker 9402, order worker 9403, mail worker 9404, grpc 9405)",
        meaning: "`0` picks a free port. The API serves `/metrics` on its own port (or `API_OBSERVABILITY_PORT`)")
    let shutdownTimeout = Setting.duration(
        "SHUTDOWN_TIMEOUT", default: .seconds(30), atLeast: .milliseconds(1),
        meaning: "after SIGTERM/SIGINT a role finishes what it holds; past this its services are cancelled, and 5 s later it exits regardless")
    let logFormat = Setting.text(
        "LOG_FORMAT", default: "text",
        meaning: "`json` writes one object per line with the metadata (`correlation.id`, `trace.id`, `request.id`, `message.id`) as fields")
    let logLevel = Setting.text(
        "LOG_LEVEL", default: "info",
        meaning: "`trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`; requests are logged at `debug`, 5xx at `error`")
    let otlpEndpoint = Setting.optionalText(
        "OTEL_EXPORTER_OTLP_ENDPOINT", defaultText: "(none: no span export; traceparents are still carried)",
        meaning: "set (e.g. `http://jaeger:4318`), every role exports its spans over OTLP/HTTP; the standard `OTEL_*` variables "
            + "(`OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, `OTEL_EXPORTER_OTLP_HEADERS`, ...) apply")
    /// Declared where it is read (the reader looks at it before any other key).
    let secretsFolder = SettingsReader.secretsFolder
}

