import ConnectionPool
import CRabbitMQ
import Foundation

/// Owns one `amqp_connection_state_t` and its socket. rabbitmq-c is not thread-safe: only the
/// connection's I/O thread touches a session.
final class AMQPSession {
    private let state: OpaquePointer
    let address: String
    /// The channel publishes go through, in confirm mode; consumers get channels of their own.
    static let publishChannel: UInt16 = 1
    /// The server closed a channel in answer to a command (a passive declare of a missing queue,
    /// a refused declaration). A closed channel answers nothing more, so the connection must start
    /// over: the owner reconnects rather than wait on it.
    private(set) var isBroken = false
    private var nextChannel: UInt16 = 2
    /// Delivery tag of the last publish on the publish channel (confirms count from 1).
    private(set) var lastPublishTag: UInt64 = 0

    private init(state: OpaquePointer, address: String) {
        self.state = state
        self.address = address
    }

    deinit { amqp_destroy_connection(state) }

    /// Opens the socket, logs in, opens the publish channel in confirm mode.
    static func connect(_ configuration: AMQPConfiguration) throws -> AMQPSession {
        guard let state = amqp_new_connection() else { throw AMQPError(.connectionFailed, "cannot allocate a connection") }
        let session = AMQPSession(state: state, address: configuration.address)
        let socket = try configuration.tls.map { try tlsSocket(state, $0, configuration) } ?? amqp_tcp_socket_new(state)
        guard let socket else {
            throw AMQPError(.connectionFailed, "cannot allocate a socket for \(configuration.address)")
        }
        let (seconds, attoseconds) = configuration.connectTimeout.components
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        let opened = amqp_socket_open_noblock(socket, configuration.host, Int32(configuration.port), &timeout)
        guard opened == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionFailed, "cannot connect to RabbitMQ at \(configuration.address): \(String(cString: amqp_error_string2(opened)))", nativeCode: opened)
        }
        let heartbeat = Int32(configuration.heartbeat.components.seconds)
        let login = emp_amqp_login(state, configuration.virtualHost, heartbeat, configuration.user, configuration.password)
        if let error = session.error(from: login, "login to \(configuration.address) as \(configuration.user), vhost \(configuration.virtualHost)") {
            throw AMQPError(.connectionFailed, error.message, nativeCode: error.nativeCode)
        }
        try session.openChannel(publishChannel)
        amqp_confirm_select(state, publishChannel)
        try session.check("confirm.select")
        return session
    }

    /// A TLS socket set up from `tls`: its CA file, client certificate, and whether the server's
    /// certificate and name are checked. The handshake happens when the socket opens.
    private static func tlsSocket(_ state: amqp_connection_state_t, _ tls: TLSSettings, _ configuration: AMQPConfiguration) throws -> OpaquePointer? {
        guard let socket = amqp_ssl_socket_new(state) else { return nil }
        func failed(_ what: String, _ status: Int32) -> AMQPError {
            AMQPError(.connectionFailed, "TLS to \(configuration.address): cannot load \(what): \(String(cString: amqp_error_string2(status)))", nativeCode: status)
        }
        if tls.verifyPeer || tls.caFile != nil {
            let loaded = amqp_ssl_socket_set_cacert(socket, tls.effectiveCAFile)
            guard loaded == AMQP_STATUS_OK.rawValue else { throw failed("the CA file \(tls.effectiveCAFile)", loaded) }
        }
        if let certificate = tls.certificateFile, let key = tls.keyFile {
            // An encrypted key is refused (its password taken to be empty) instead of prompting
            // on a terminal that a server does not have.
            amqp_ssl_socket_set_key_passwd(socket, "")
            let status = amqp_ssl_socket_set_key(socket, certificate, key)
            guard status == AMQP_STATUS_OK.rawValue else { throw failed("the client certificate \(certificate) and key \(key)", status) }
        }
        amqp_ssl_socket_set_verify_peer(socket, tls.verifyPeer ? 1 : 0)
        amqp_ssl_socket_set_verify_hostname(socket, tls.verifyPeer ? 1 : 0)
        return socket
    }

    var socket: Int32 { amqp_get_sockfd(state) }

    /// Whether frames are already buffered, so waiting on the socket would miss them.
    var hasBufferedFrames: Bool { amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0 }

    // MARK: - Channels and topology

    func openChannel(_ channel: UInt16) throws {
        amqp_channel_open(state, channel)
        try check("channel.open \(channel)")
    }

    func makeConsumerChannel() throws -> UInt16 {
        let channel = nextChannel
        nextChannel += 1
        try openChannel(channel)
        return channel
    }

    func declare(_ topology: AMQPTopology) throws {
        let channel = Self.publishChannel
        for exchange in topology.exchanges {
            try withTable(exchange.arguments) { arguments in
                exchange.name.withBytes { name in
                    exchange.type.withBytes { type in
                        _ = amqp_exchange_declare(state, channel, name, type, 0, exchange.durable ? 1 : 0, 0, 0, arguments)
                    }
                }
                try check("declare exchange \(exchange.name)")
            }
        }
        for queue in topology.queues {
            try withTable(queue.arguments) { arguments in
                queue.name.withBytes { name in
                    _ = amqp_queue_declare(state, channel, name, 0, queue.durable ? 1 : 0, 0, 0, arguments)
                }
                try check("declare queue \(queue.name)")
            }
        }
        for binding in topology.bindings {
            binding.queue.withBytes { queue in
                binding.exchange.withBytes { exchange in
                    binding.routingKey.withBytes { key in
                        _ = amqp_queue_bind(state, channel, queue, exchange, key, amqp_empty_table)
                    }
                }
            }
            try check("bind \(binding.queue) to \(binding.exchange) with \(binding.routingKey)")
        }
    }

    /// Messages ready in `queue` (a passive declare).
    func messageCount(queue: String) throws -> Int {
        let reply = queue.withBytes { name in
            amqp_queue_declare(state, Self.publishChannel, name, 1, 0, 0, 0, amqp_empty_table)
        }
        try check("count messages in \(queue)")
        return Int(reply?.pointee.message_count ?? 0)
    }

    func deleteQueue(_ queue: String) throws {
        queue.withBytes { name in _ = amqp_queue_delete(state, Self.publishChannel, name, 0, 0) }
        try check("delete queue \(queue)")
    }

    func consume(queue: String, channel: UInt16, prefetch: Int, tag: String) throws {
        amqp_basic_qos(state, channel, 0, UInt16(clamping: prefetch), 0)
        try check("basic.qos")
        queue.withBytes { queueBytes in
            tag.withBytes { tagBytes in
                _ = amqp_basic_consume(state, channel, queueBytes, tagBytes, 0, 0, 0, amqp_empty_table)
            }
        }
        try check("consume \(queue)")
    }

    func cancel(tag: String, channel: UInt16) throws {
        tag.withBytes { tagBytes in _ = amqp_basic_cancel(state, channel, tagBytes) }
        try check("basic.cancel \(tag)")
    }

    /// A synchronous round trip on `channel`: when it returns, the broker has processed every
    /// earlier frame on it (the acks above all), so closing the channel cannot requeue them.
    func sync(channel: UInt16, prefetch: Int) throws {
        amqp_basic_qos(state, channel, 0, UInt16(clamping: prefetch), 0)
        try check("basic.qos (sync)")
    }

    func closeChannel(_ channel: UInt16) {
        _ = amqp_channel_close(state, channel, Int32(AMQP_REPLY_SUCCESS))
    }

    func close() {
        _ = amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
    }

    // MARK: - Publish and settle

    /// Publishes on the confirm channel; returns the delivery tag its confirm will carry.
    func publish(_ message: AMQPOutgoingMessage) throws -> UInt64 {
        var properties = amqp_basic_properties_t()
        var flags: UInt32 = UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG)
        properties.delivery_mode = message.persistent ? 2 : 1
        // The optional properties, only when set (each costs a copy).
        var optional: [String] = []
        var slots: (contentType: Int?, type: Int?, correlationID: Int?, expiration: Int?) = (nil, nil, nil, nil)
        if let value = message.contentType { slots.contentType = optional.count; optional.append(value) }
        if let value = message.type { slots.type = optional.count; optional.append(value) }
        if let value = message.correlationID { slots.correlationID = optional.count; optional.append(value) }
        if let value = message.expiration { slots.expiration = optional.count; optional.append(String(value.wholeMilliseconds)) }
        let status: Int32 = message.exchange.withBytes { exchange in
            message.routingKey.withBytes { routingKey in
                message.messageID.withBytes { messageID in
                    withStrings(optional) { strings in
                        properties.message_id = messageID
                        if let slot = slots.contentType { properties.content_type = strings[slot]; flags |= UInt32(AMQP_BASIC_CONTENT_TYPE_FLAG) }
                        if let slot = slots.type { properties.type = strings[slot]; flags |= UInt32(AMQP_BASIC_TYPE_FLAG) }
                        if let slot = slots.correlationID { properties.correlation_id = strings[slot]; flags |= UInt32(AMQP_BASIC_CORRELATION_ID_FLAG) }
                        if let slot = slots.expiration { properties.expiration = strings[slot]; flags |= UInt32(AMQP_BASIC_EXPIRATION_FLAG) }
                        return withTable(message.headers) { headers in
                            if !message.headers.isEmpty {
                                properties.headers = headers
                                flags |= UInt32(AMQP_BASIC_HEADERS_FLAG)
                            }
                            properties._flags = flags
                            return message.body.withUnsafeBytes { body in
                                amqp_basic_publish(
                                    state, Self.publishChannel, exchange, routingKey, message.mandatory ? 1 : 0, 0, &properties,
                                    emp_amqp_bytes(body.baseAddress, body.count))
                            }
                        }
                    }
                }
            }
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionLost, "publish to \(address): \(String(cString: amqp_error_string2(status)))", nativeCode: status)
        }
        lastPublishTag += 1
        return lastPublishTag
    }

    /// Settles `tag`; with `multiple`, an ack also covers every unsettled tag below it.
    func settle(channel: UInt16, tag: UInt64, _ settlement: AMQPSettlement, multiple: Bool = false) throws {
        let status: Int32 = switch settlement {
        case .ack: amqp_basic_ack(state, channel, tag, multiple ? 1 : 0)
        case .nack: amqp_basic_nack(state, channel, tag, 0, 0)
        case .nackRequeue: amqp_basic_nack(state, channel, tag, 0, 1)
        case .reject: amqp_basic_reject(state, channel, tag, 0)
        case .rejectRequeue: amqp_basic_reject(state, channel, tag, 1)
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionLost, "settle on \(address): \(String(cString: amqp_error_string2(status)))", nativeCode: status)
        }
    }

    // MARK: - Incoming frames

    enum Event {
        case delivery(channel: UInt16, exchange: String, routingKey: String, tag: UInt64, redelivered: Bool, content: Content)
        case confirmed(tag: UInt64, multiple: Bool, ok: Bool)
        case returned(messageID: String?, reason: String)
        case cancelled(channel: UInt16)
        case closed(String)
    }

    struct Content {
        var body: [UInt8]
        var messageID: String?
        var contentType: String?
        var type: String?
        var correlationID: String?
        var headers: [String: AMQPFieldValue]
        var lastDeath: AMQPDeath?
    }

    /// The next frame's meaning, without blocking; nil when nothing is buffered or readable.
    func nextEvent() throws -> Event? {
        var frame = amqp_frame_t()
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &zero)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionLost, "connection to \(address): \(String(cString: amqp_error_string2(status)))", nativeCode: status)
        }
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return try nextEvent() }
        let method = frame.payload.method
        switch method.id {
        case EMP_AMQP_BASIC_DELIVER:
            let deliver = method.decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            let exchange = deliver.exchange.string
            let routingKey = deliver.routing_key.string
            let content = try readContent(channel: frame.channel)
            return .delivery(channel: frame.channel, exchange: exchange, routingKey: routingKey, tag: deliver.delivery_tag, redelivered: deliver.redelivered != 0, content: content)
        case EMP_AMQP_BASIC_ACK:
            let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .confirmed(tag: ack.delivery_tag, multiple: ack.multiple != 0, ok: true)
        case EMP_AMQP_BASIC_NACK:
            let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .confirmed(tag: nack.delivery_tag, multiple: nack.multiple != 0, ok: false)
        case EMP_AMQP_BASIC_RETURN:
            let returned = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let reason = "\(returned.reply_code) \(returned.reply_text.string) (exchange \"\(returned.exchange.string)\", routing key \"\(returned.routing_key.string)\")"
            let content = try readContent(channel: frame.channel)
            return .returned(messageID: content.messageID, reason: reason)
        case EMP_AMQP_BASIC_CANCEL:
            return .cancelled(channel: frame.channel)
        case EMP_AMQP_CHANNEL_CLOSE:
            let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            return .closed("channel \(frame.channel) closed by the server: \(close.reply_code) \(close.reply_text.string)")
        case EMP_AMQP_CONNECTION_CLOSE:
            let close = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            return .closed("connection closed by the server: \(close.reply_code) \(close.reply_text.string)")
        default:
            return try nextEvent()
        }
    }

    private func readContent(channel: UInt16) throws -> Content {
        var message = amqp_message_t()
        let reply = amqp_read_message(state, channel, &message, 0)
        if let error = error(from: reply, "reading a message") { throw error }
        defer { amqp_destroy_message(&message) }
        let properties = message.properties
        let flags = properties._flags
        func has(_ flag: Int32) -> Bool { flags & UInt32(flag) != 0 }
        let headers = has(AMQP_BASIC_HEADERS_FLAG) ? Self.headers(of: properties.headers) : Headers(fields: [:], lastDeath: nil)
        return Content(
            body: message.body.len == 0 ? [] : Array(UnsafeRawBufferPointer(start: message.body.bytes, count: message.body.len)),
            messageID: has(AMQP_BASIC_MESSAGE_ID_FLAG) ? properties.message_id.string : nil,
            contentType: has(AMQP_BASIC_CONTENT_TYPE_FLAG) ? properties.content_type.string : nil,
            type: has(AMQP_BASIC_TYPE_FLAG) ? properties.type.string : nil,
            correlationID: has(AMQP_BASIC_CORRELATION_ID_FLAG) ? properties.correlation_id.string : nil,
            headers: headers.fields, lastDeath: headers.lastDeath)
    }

    func releaseBuffers() { amqp_maybe_release_buffers(state) }

    /// A message's headers as our field values (text, integers and booleans; arrays and tables are
    /// left out), and where and why the broker last dead-lettered it, read in the same pass.
    struct Headers: Equatable {
        var fields: [String: AMQPFieldValue]
        var lastDeath: AMQPDeath?
    }

    /// The last death is the first entry of `x-death`, which RabbitMQ keeps most recent first, else
    /// `x-last-death-queue` and `x-last-death-reason` (3.13 and later). `x-death` first: a message
    /// republished by a client keeps those strings but not the array (ours do not carry arrays),
    /// and a broker before 3.13 would leave such stale strings as they were.
    static func headers(of table: amqp_table_t) -> Headers {
        var fields: [String: AMQPFieldValue] = [:]
        var fromArray: AMQPDeath?
        for index in 0..<Int(table.num_entries) {
            var entry = table.entries[index]
            var text = amqp_bytes_t()
            var integer: Int64 = 0
            if emp_amqp_entry_text(&entry, &text) != 0 {
                fields[entry.key.string] = .string(text.string)
            } else if emp_amqp_entry_integer(&entry, &integer) != 0 {
                fields[entry.key.string] = .integer(integer)
            } else if entry.value.kind == UInt8(ascii: "t") {
                fields[entry.key.string] = .boolean(entry.value.value.boolean != 0)
            } else if entry.key.string == "x-death" {
                var reason = amqp_bytes_t()
                if emp_amqp_entry_last_death(&entry, &text, &reason) != 0 {
                    fromArray = AMQPDeath(queue: text.string, reason: reason.string)
                }
            }
        }
        var lastDeath = fromArray
        if lastDeath == nil, case .string(let queue)? = fields["x-last-death-queue"], case .string(let reason)? = fields["x-last-death-reason"] {
            lastDeath = AMQPDeath(queue: queue, reason: reason)
        }
        return Headers(fields: fields, lastDeath: lastDeath)
    }

    // MARK: - Replies

    private func check(_ context: String) throws {
        if let error = error(from: amqp_get_rpc_reply(state), context) { throw error }
    }

    private func error(from reply: amqp_rpc_reply_t, _ context: String) -> AMQPError? {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return nil
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return AMQPError(.connectionLost, "\(context): \(String(cString: amqp_error_string2(reply.library_error)))", nativeCode: reply.library_error)
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == EMP_AMQP_CONNECTION_CLOSE {
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                return AMQPError(.server, "\(context): \(close.reply_code) \(close.reply_text.string)", nativeCode: Int32(close.reply_code))
            }
            if reply.reply.id == EMP_AMQP_CHANNEL_CLOSE {
                isBroken = true
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                return AMQPError(.server, "\(context): \(close.reply_code) \(close.reply_text.string)", nativeCode: Int32(close.reply_code))
            }
            return AMQPError(.server, "\(context): server exception")
        default:
            return AMQPError(.connectionLost, "\(context): no reply")
        }
    }
}

// MARK: - C helpers

extension amqp_bytes_t {
    var string: String {
        len == 0 ? "" : String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }
}

extension String {
    /// Calls `body` with the string as `amqp_bytes_t`, valid only inside the call.
    func withBytes<R>(_ body: (amqp_bytes_t) throws -> R) rethrows -> R {
        var copy = self
        return try copy.withUTF8 { try body(emp_amqp_bytes($0.baseAddress, $0.count)) }
    }
}

/// Calls `body` with each string as `amqp_bytes_t`, all valid for the duration of the call.
func withStrings<R>(_ strings: [String], _ body: ([amqp_bytes_t]) throws -> R) rethrows -> R {
    if strings.isEmpty { return try body([]) }
    let copies = strings.map { Array($0.utf8) }
    let buffers = copies.map { bytes -> UnsafeMutableRawBufferPointer in
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        buffer.copyBytes(from: bytes)
        return buffer
    }
    defer { buffers.forEach { $0.deallocate() } }
    return try body(zip(buffers, copies).map { emp_amqp_bytes($0.0.baseAddress, $0.1.count) })
}

/// Calls `body` with `fields` as an `amqp_table_t`, valid only inside the call.
func withTable<R>(_ fields: [String: AMQPFieldValue], _ body: (amqp_table_t) throws -> R) rethrows -> R {
    if fields.isEmpty { return try body(amqp_table_t(num_entries: 0, entries: nil)) }
    let sorted = fields.sorted { $0.key < $1.key }
    let keys = sorted.map { strdup($0.key) }
    let values = sorted.map { field -> [UInt8] in
        if case .string(let text) = field.value { return Array(text.utf8) }
        return []
    }
    let valueBuffers = values.map { bytes -> UnsafeMutableRawBufferPointer in
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        buffer.copyBytes(from: bytes)
        return buffer
    }
    let entries = UnsafeMutablePointer<amqp_table_entry_t>.allocate(capacity: max(1, sorted.count))
    defer {
        keys.forEach { free($0) }
        valueBuffers.forEach { $0.deallocate() }
        entries.deallocate()
    }
    for (index, field) in sorted.enumerated() {
        switch field.value {
        case .string: emp_amqp_entry_string(entries + index, keys[index], valueBuffers[index].baseAddress, values[index].count)
        case .integer(let value): emp_amqp_entry_i64(entries + index, keys[index], value)
        case .boolean(let value): emp_amqp_entry_bool(entries + index, keys[index], value ? 1 : 0)
        }
    }
    return try body(amqp_table_t(num_entries: Int32(sorted.count), entries: sorted.isEmpty ? nil : entries))
}
