import COpenSSL
import ConnectionPool
import Foundation
import Glibc

/// The byte stream under one Redis connection: a TCP socket, with TLS on it for `rediss://`.
/// hiredis 0.14 (Debian bookworm's) cannot do TLS, so the connection does its own I/O and uses
/// hiredis only to format commands and parse replies. Every call blocks, each read and write
/// bounded by the socket's time-outs (the connect time-out while connecting and during the TLS
/// handshake, the command time-out after), as hiredis's were.
final class RedisSocket {
    private let descriptor: Int32
    private var tls: (context: OpaquePointer, connection: OpaquePointer)?
    let address: String

    private init(descriptor: Int32, address: String) {
        self.descriptor = descriptor
        self.address = address
    }

    deinit {
        if let tls {
            SSL_free(tls.connection)
            SSL_CTX_free(tls.context)
        }
        close(descriptor)
    }

    /// Connects to the first address of `configuration.host` that answers within the connect
    /// time-out, then makes the TLS handshake if configured.
    static func connect(_ configuration: RedisConfiguration) throws -> RedisSocket {
        let address = configuration.address
        func failure(_ message: String, _ code: Int32 = 0) -> RedisError {
            RedisError(.connectionFailed, "cannot connect to Redis at \(address): \(message)", nativeCode: code, server: address)
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(configuration.host, String(configuration.port), &hints, &list)
        guard resolved == 0, let list else { throw failure(String(cString: gai_strerror(resolved)), resolved) }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = ECONNREFUSED
        var candidate: UnsafeMutablePointer<addrinfo>? = list
        while let info = candidate {
            candidate = info.pointee.ai_next
            let descriptor = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard descriptor >= 0 else { lastError = errno; continue }
            let connection = RedisSocket(descriptor: descriptor, address: address)
            let error = connection.open(info.pointee.ai_addr, info.pointee.ai_addrlen, timeout: configuration.connectTimeout)
            guard error == 0 else { lastError = error; continue }
            connection.setTimeout(configuration.connectTimeout)
            if let tls = configuration.tls { try connection.startTLS(tls, host: configuration.host) }
            connection.setTimeout(configuration.commandTimeout)
            return connection
        }
        throw failure(lastError == ETIMEDOUT ? "no answer within the connect time-out" : String(cString: strerror(lastError)), lastError)
    }

    /// A non-blocking connect bounded by `timeout`, then back to blocking; 0 or the errno.
    private func open(_ address: UnsafePointer<sockaddr>, _ length: socklen_t, timeout: Duration) -> Int32 {
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        if Glibc.connect(descriptor, address, length) != 0 {
            guard errno == EINPROGRESS else { return errno }
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let deadline = ContinuousClock.now + max(timeout, .milliseconds(1))
            var ready: Int32
            repeat {
                let left = max(1, (deadline - ContinuousClock.now).wholeMilliseconds)
                ready = poll(&poller, 1, Int32(clamping: left))
            } while ready < 0 && errno == EINTR && ContinuousClock.now < deadline
            guard ready > 0 else { return ready == 0 ? ETIMEDOUT : errno }
            var error: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &size)
            guard error == 0 else { return error }
        }
        _ = fcntl(descriptor, F_SETFL, flags)
        var on: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size))
        return 0
    }

    private func setTimeout(_ duration: Duration) {
        // A zero timeval would mean no time-out at all.
        let (seconds, attoseconds) = max(duration, .milliseconds(1)).components
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    // MARK: - TLS

    private func startTLS(_ settings: TLSSettings, host: String) throws {
        func failure(_ what: String) -> RedisError {
            RedisError(.connectionFailed, "cannot connect to Redis at \(address): TLS \(what): \(Self.openSSLErrors())", server: address)
        }
        // OpenSSL writes with write(2): a peer that has gone would raise SIGPIPE and end the
        // process. Servers ignore it and take EPIPE instead.
        signal(SIGPIPE, SIG_IGN)
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw failure("context") }
        guard let connection = SSL_new(context) else {
            SSL_CTX_free(context)
            throw failure("session")
        }
        tls = (context, connection)
        guard emp_ssl_ctx_configure(context) == 1 else { throw failure("minimum version") }
        if settings.verifyPeer || settings.caFile != nil {
            guard SSL_CTX_load_verify_locations(context, settings.effectiveCAFile, nil) == 1 else {
                throw failure("cannot load the CA file \(settings.effectiveCAFile)")
            }
        }
        if let certificate = settings.certificateFile, let key = settings.keyFile {
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1,
                SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1,
                SSL_CTX_check_private_key(context) == 1
            else { throw failure("cannot load the client certificate \(certificate) and key \(key)") }
        }
        SSL_set_verify(connection, settings.verifyPeer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
        guard emp_ssl_set_server_name(connection, host) == 1 else { throw failure("cannot send the name \(host)") }
        if settings.verifyPeer {
            guard emp_ssl_expect_host(connection, host) == 1 else { throw failure("cannot check the name \(host)") }
        }
        guard SSL_set_fd(connection, descriptor) == 1 else { throw failure("socket") }
        ERR_clear_error()
        guard SSL_connect(connection) == 1 else {
            let verified = SSL_get_verify_result(connection)
            if settings.verifyPeer && verified != Int(X509_V_OK) {
                throw failure("handshake: the server's certificate was refused: \(String(cString: X509_verify_cert_error_string(verified)))")
            }
            throw failure("handshake")
        }
    }

    /// The thread's OpenSSL error queue, oldest first, emptied.
    private static func openSSLErrors() -> String {
        var messages: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? (errno != 0 ? String(cString: strerror(errno)) : "failed") : messages.joined(separator: "; ")
    }

    // MARK: - I/O

    /// Writes all of `bytes`.
    func send(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let start = bytes.baseAddress! + offset
            let remaining = bytes.count - offset
            let written: Int
            if let tls {
                ERR_clear_error()
                errno = 0
                let result = SSL_write(tls.connection, start, Int32(clamping: remaining))
                let code = errno
                guard result > 0 else { throw ioError(tls: SSL_get_error(tls.connection, result), errno: code) }
                written = Int(result)
            } else {
                written = Glibc.send(descriptor, start, remaining, Int32(MSG_NOSIGNAL))
                guard written >= 0 else {
                    let code = errno
                    if code == EINTR { continue }
                    throw ioError(tls: nil, errno: code)
                }
            }
            offset += written
        }
    }

    /// Reads what has arrived (at least one byte) into `buffer`.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            if let tls {
                ERR_clear_error()
                errno = 0
                let result = SSL_read(tls.connection, buffer.baseAddress, Int32(clamping: buffer.count))
                let code = errno
                guard result > 0 else { throw ioError(tls: SSL_get_error(tls.connection, result), errno: code) }
                return Int(result)
            }
            let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if count > 0 { return count }
            if count == 0 { throw RedisError(.connectionClosed, "Redis connection to \(address) failed: closed by the server", server: address) }
            let code = errno
            if code == EINTR { continue }
            throw ioError(tls: nil, errno: code)
        }
    }

    /// The error for a failed read or write: `tlsError` is SSL_get_error's answer on a TLS
    /// connection, `code` the errno saved right after the call.
    private func ioError(tls tlsError: Int32?, errno code: Int32) -> RedisError {
        // The socket's time-out: EAGAIN from recv/send, or OpenSSL asking to retry a read or
        // write that the blocking socket gave up on.
        let timedOut = switch tlsError {
        case nil: code == EAGAIN || code == EWOULDBLOCK
        case SSL_ERROR_WANT_READ?, SSL_ERROR_WANT_WRITE?: true
        case SSL_ERROR_SYSCALL?: code == EAGAIN || code == EWOULDBLOCK
        default: false
        }
        if timedOut {
            return RedisError(.connectionClosed, "no reply from Redis at \(address) within the command time-out", nativeCode: code, server: address)
        }
        let reason: String
        switch tlsError {
        case SSL_ERROR_ZERO_RETURN?: reason = "closed by the server"
        case SSL_ERROR_SSL?: reason = "TLS: \(Self.openSSLErrors())"
        case SSL_ERROR_SYSCALL? where code == 0: reason = "closed by the server"
        default: reason = String(cString: strerror(code))
        }
        return RedisError(.connectionClosed, "Redis connection to \(address) failed: \(reason)", nativeCode: code, server: address)
    }
}
