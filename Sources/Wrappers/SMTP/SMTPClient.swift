internal import CCurl
import Foundation
public import Logging
public import NIOPosix

/// Sends mail over SMTP through libcurl: one transfer per mail, on a thread of the blocking pool
/// (a transfer waits on the network for up to the configured timeout).
public struct SMTPClient: Sendable {
    public let configuration: SMTPConfiguration
    let threadPool: NIOThreadPool
    let logger: Logger

    public init(configuration: SMTPConfiguration, threadPool: NIOThreadPool = .singleton, logger: Logger) {
        CurlGlobal.ensureInitialised()
        self.configuration = configuration
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Sends `message`; returns when the server accepted it, throws ``SMTPError`` otherwise.
    public func send(_ message: SMTPMessage) async throws(SMTPError) {
        guard SMTPMessage.isDeliverable(message.to) else {
            throw SMTPError(.recipientRefused, "\(message.to) is not a deliverable address", replyCode: 553)
        }
        let configuration = self.configuration
        let bytes = message.rendered(from: configuration.from, fromName: configuration.fromName)
        do {
            try await threadPool.runIfActive {
                let transfer = try CurlTransfer.make()
                try transfer.send(bytes, to: message.to, configuration: configuration)
            }
        } catch let error as SMTPError {
            throw error
        } catch {
            throw SMTPError(.other, "\(error)")
        }
    }
}

/// `curl_global_init` once per process, before any handle (it is not thread-safe itself).
enum CurlGlobal {
    private static let initialised: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    static func ensureInitialised() { _ = initialised }
}

/// Owns one `CURL *` easy handle.
final class CurlTransfer {
    private let handle: UnsafeMutableRawPointer

    private init(handle: UnsafeMutableRawPointer) {
        self.handle = handle
    }

    static func make() throws(SMTPError) -> CurlTransfer {
        CurlGlobal.ensureInitialised()
        guard let handle = curl_easy_init() else { throw SMTPError(.other, "curl_easy_init failed") }
        return CurlTransfer(handle: handle)
    }

    deinit { curl_easy_cleanup(handle) }

    /// Runs the whole SMTP transaction (blocking).
    func send(_ bytes: [UInt8], to recipient: String, configuration: SMTPConfiguration) throws(SMTPError) {
        let source = ReadSource(bytes)
        let context = Unmanaged.passRetained(source)
        defer { context.release() }
        let recipients = curl_slist_append(nil, "<\(recipient)>")
        defer { curl_slist_free_all(recipients) }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
            var status = CURLE_OK
            func set(_ result: CURLcode) { if status == CURLE_OK { status = result } }
            set(emp_curl_set_string(handle, CURLOPT_URL, configuration.url))
            set(emp_curl_set_string(handle, CURLOPT_MAIL_FROM, "<\(configuration.from)>"))
            set(emp_curl_set_list(handle, CURLOPT_MAIL_RCPT, recipients))
            set(emp_curl_set_long(handle, CURLOPT_UPLOAD, 1))
            set(emp_curl_set_long(handle, CURLOPT_NOSIGNAL, 1))
            set(emp_curl_set_long(handle, CURLOPT_USE_SSL, configuration.startTLS.level))
            set(emp_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(configuration.connectTimeout)))
            set(emp_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(configuration.timeout)))
            if let username = configuration.username { set(emp_curl_set_string(handle, CURLOPT_USERNAME, username)) }
            if let password = configuration.password { set(emp_curl_set_string(handle, CURLOPT_PASSWORD, password)) }
            set(emp_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress))
            set(emp_curl_set_read_function(handle, curlRead))
            set(emp_curl_set_pointer(handle, CURLOPT_READDATA, context.toOpaque()))
            let result = status == CURLE_OK ? curl_easy_perform(handle) : status
            // Neither pointer outlives this closure: libcurl must not keep them until cleanup.
            _ = emp_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, nil)
            _ = emp_curl_set_pointer(handle, CURLOPT_READDATA, nil)
            _ = emp_curl_set_list(handle, CURLOPT_MAIL_RCPT, nil)
            return result
        }
        guard code != CURLE_OK else { return }

        var reply = 0
        _ = emp_curl_response_code(handle, &reply)
        let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        var kind = Self.classify(code)
        // libcurl reports a refused RCPT TO as a send error whose text says so.
        if kind == .rejected && message.contains("RCPT") { kind = .recipientRefused }
        throw SMTPError(kind, message, nativeCode: Int32(bitPattern: code.rawValue), replyCode: reply == 0 ? nil : reply)
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    static func classify(_ code: CURLcode) -> SMTPError.Code {
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_SSL_CONNECT_ERROR:
            return .connection
        case CURLE_OPERATION_TIMEDOUT: return .timeout
        case CURLE_LOGIN_DENIED: return .authentication
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_WEIRD_SERVER_REPLY, CURLE_USE_SSL_FAILED: return .rejected
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: return .invalidConfiguration
        default: return .other
        }
    }
}

/// The message bytes libcurl pulls through its read callback.
private final class ReadSource {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

private let curlRead: emp_curl_read_callback = { buffer, size, count, context in
    guard let buffer, let context else { return 0 }
    let source = Unmanaged<ReadSource>.fromOpaque(context).takeUnretainedValue()
    let length = min(size * count, source.bytes.count - source.offset)
    guard length > 0 else { return 0 }
    source.bytes.withUnsafeBufferPointer { all in
        UnsafeMutableRawPointer(buffer).copyMemory(from: all.baseAddress! + source.offset, byteCount: length)
    }
    source.offset += length
    return length
}
