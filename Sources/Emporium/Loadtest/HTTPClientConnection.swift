import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Where the API listens: `http://host:port` (a path in the URL is ignored).
struct HTTPEndpoint: Sendable, CustomStringConvertible {
    let host: String
    let port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init(url text: String) throws {
        guard let url = URL(string: text), url.scheme == "http", let host = url.host, !host.isEmpty else {
            throw LoadtestError("--url: expected http://host[:port], got \"\(text)\"")
        }
        self.host = host
        port = url.port ?? 80
    }

    /// The `Host` header.
    var authority: String { port == 80 ? host : "\(host):\(port)" }
    var description: String { "http://\(authority)" }
}

/// One keep-alive HTTP/1.1 connection carrying one request at a time: what each load-test
/// client holds. No pooling, redirects or TLS; a response is its status and whole body.
/// A connection that failed (see ``HTTPTransportError``) is closed; connect a new one.
final class HTTPClientConnection: Sendable {
    struct Response: Sendable {
        var status: Int
        var body: ByteBuffer

        var bytes: [UInt8] { Array(body.readableBytesView) }
    }

    private let channel: any Channel
    private let authority: String

    private init(channel: any Channel, authority: String) {
        self.channel = channel
        self.authority = authority
    }

    static func connect(to endpoint: HTTPEndpoint, on group: any EventLoopGroup) async throws -> HTTPClientConnection {
        do {
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(HTTPExchangeHandler())
                    }
                }
                .connect(host: endpoint.host, port: endpoint.port).get()
            return HTTPClientConnection(channel: channel, authority: endpoint.authority)
        } catch {
            throw HTTPTransportError(connecting: error)
        }
    }

    /// Sends a request and waits for the whole response (or `timeout`, which closes the connection).
    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)], body: [UInt8]? = nil, timeout: TimeAmount = .seconds(30)
    ) async throws -> Response {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.reserveCapacity(headers.count + 3)
        head.headers.add(name: "Host", value: authority)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        var buffer: ByteBuffer?
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(body.count))
            buffer = channel.allocator.buffer(bytes: body)
        }
        let response = channel.eventLoop.makePromise(of: Response.self)
        let written = channel.eventLoop.makePromise(of: Void.self)
        // A write that never reaches the handler (the channel closed meanwhile) fails here;
        // a promise completed twice keeps its first result.
        written.futureResult.whenFailure { response.fail(HTTPTransportError(transferring: $0)) }
        channel.writeAndFlush(HTTPExchange(head: head, body: buffer, timeout: timeout, response: response), promise: written)
        return try await response.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }
}

/// A failure below HTTP. `kind` is short and stable: the load test counts errors under it.
struct HTTPTransportError: Error, CustomStringConvertible {
    let kind: String
    let detail: String

    init(kind: String, detail: String) {
        self.kind = kind
        self.detail = detail
    }

    init(connecting error: any Error) {
        if let error = error as? HTTPTransportError {
            self = error
            return
        }
        let underlying = (error as? NIOConnectionError)?.connectionErrors.first?.error ?? error
        switch underlying {
        case let io as IOError where io.errnoCode == ECONNREFUSED: kind = "connect refused"
        case ChannelError.connectTimeout: kind = "connect timeout"
        default: kind = "connect failed"
        }
        detail = "\(underlying)"
    }

    init(transferring error: any Error) {
        if let error = error as? HTTPTransportError {
            self = error
            return
        }
        switch error {
        case let io as IOError where io.errnoCode == ECONNRESET || io.errnoCode == EPIPE: kind = "connection reset"
        case ChannelError.ioOnClosedChannel, ChannelError.eof, ChannelError.alreadyClosed: kind = "connection closed"
        case is HTTPParserError: kind = "malformed response"
        default: kind = "transport error"
        }
        detail = "\(error)"
    }

    static let timedOut = HTTPTransportError(kind: "timeout", detail: "no complete response in time")
    static let closed = HTTPTransportError(kind: "connection closed", detail: "the server closed the connection before answering")

    var description: String { "\(kind): \(detail)" }
}

// MARK: - The channel handler

/// A request on its way, and where its response goes.
struct HTTPExchange: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var timeout: TimeAmount
    var response: EventLoopPromise<HTTPClientConnection.Response>
}

/// Writes one exchange's request, collects its response, and fails it if the connection ends,
/// errs or times out first. Runs on the channel's event loop only.
final class HTTPExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPExchange
    typealias OutboundOut = HTTPClientRequestPart

    private var pending: EventLoopPromise<HTTPClientConnection.Response>?
    private var status = 0
    private var body: ByteBuffer?
    private var timer: Scheduled<Void>?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard pending == nil else {
            let busy = HTTPTransportError(kind: "client error", detail: "a second request on a busy connection")
            exchange.response.fail(busy)
            promise?.fail(busy)
            return
        }
        pending = exchange.response
        status = 0
        body = nil
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: exchange.timeout) {
            self.fail(.timedOut)
            context.close(promise: nil)
        }
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if let body = exchange.body {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(var part):
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            timer?.cancel()
            timer = nil
            let response = HTTPClientConnection.Response(status: status, body: body ?? ByteBuffer())
            body = nil
            let promise = pending
            pending = nil
            promise?.succeed(response)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(HTTPTransportError(transferring: error))
        context.close(promise: nil)
    }

    private func fail(_ error: HTTPTransportError) {
        timer?.cancel()
        timer = nil
        let promise = pending
        pending = nil
        promise?.fail(error)
    }
}
