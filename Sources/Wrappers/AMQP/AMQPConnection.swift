import ConnectionPool
import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// A connection to RabbitMQ with publisher confirms, consumers and automatic recovery.
///
/// rabbitmq-c blocks and is not thread-safe, so one dedicated thread owns the connection: it runs
/// the commands callers submit (publish, settle, declare), reads frames (deliveries, confirms,
/// returns) and serves heartbeats. When the connection drops, the thread reconnects with backoff,
/// declares the topology again and resumes every consumer; publishes not yet confirmed fail with a
/// retriable error (nothing confirmed is lost: the broker has it).
///
/// A `Service`: ``run()`` drives the thread. On graceful shutdown consumers are cancelled, the
/// deliveries in hand get time to be settled, every channel is synced so no ack is lost, and
/// publishes in flight are confirmed before the connection closes.
public final class AMQPConnection: Service, Sendable {
    public let configuration: AMQPConfiguration
    private let logger: Logger
    /// What callers and the I/O thread share: the command queue and the stop flags.
    private let state: Mutex<AMQPSharedState>
    /// Everything else, touched only by the I/O thread (so no lock is held around I/O).
    private let io: AMQPIOState
    private let wakeup: WakeupPipe
    /// Deliveries the application has taken from a stream and not settled yet; shutdown closes it,
    /// then waits for them (up to the drain time-out). Deliveries still buffered in a stream are
    /// not counted and, once it is closed, not handed out: closing the channel returns them.
    let intake = AMQPIntake()

    public init(configuration: AMQPConfiguration, topology: AMQPTopology = .init(), logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(AMQPSharedState())
        self.io = AMQPIOState(topology: topology)
        do {
            self.wakeup = try WakeupPipe()
        } catch {
            throw AMQPError(.connectionFailed, "\(error)")
        }
    }

    // MARK: - Publishing

    /// Publishes and waits for the broker's confirm. A nack, or a mandatory message that could not
    /// be routed, throws.
    public func publish(_ message: AMQPOutgoingMessage) async throws {
        try await publish([message])
    }

    /// Publishes a batch and waits until every message is confirmed; throws the first failure.
    public func publish(_ messages: [AMQPOutgoingMessage]) async throws {
        guard !messages.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let batch = ConfirmBatch(count: messages.count, continuation: continuation)
            submit { session, io in
                for message in messages {
                    let tag = try session.publish(message)
                    io.pendingConfirms[tag] = batch
                    if message.mandatory { io.mandatoryTags[message.messageID] = tag }
                }
            } onFailure: { error in
                batch.fail(error)
            }
        }
    }

    /// Declares more topology now; it is declared again after every reconnect.
    public func declare(_ topology: AMQPTopology) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            submit { session, io in
                try session.declare(topology)
                io.topology.merge(topology)
                continuation.resume()
            } onFailure: { error in
                continuation.resume(throwing: error)
            }
        }
    }

    /// How many messages are ready in `queue` (not counting those delivered and unsettled).
    public func messageCount(queue: String) async throws -> Int {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
            submit { session, _ in
                continuation.resume(returning: try session.messageCount(queue: queue))
            } onFailure: { error in
                continuation.resume(throwing: error)
            }
        }
    }

    /// Deletes a queue and forgets it from the topology.
    public func deleteQueue(_ queue: String) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            submit { session, io in
                try session.deleteQueue(queue)
                io.topology.queues.removeAll { $0.name == queue }
                io.topology.bindings.removeAll { $0.queue == queue }
                continuation.resume()
            } onFailure: { error in
                continuation.resume(throwing: error)
            }
        }
    }

    // MARK: - Consuming

    /// Consumes `queue` with at most `prefetch` unsettled deliveries. The stream resumes by itself
    /// after a reconnect (deliveries not settled before the drop come again, marked redelivered)
    /// and ends at shutdown.
    public func consume(queue: String, prefetch: Int = 100) -> AMQPDeliveries {
        let (stream, continuation) = AsyncThrowingStream<AMQPDelivery, any Error>.makeStream()
        let consumer = AMQPConsumerRegistration(queue: queue, prefetch: prefetch, tag: "emporium-\(UUID().uuidString)", continuation: continuation)
        submit { session, io in
            io.consumers.append(consumer)
            try Self.start(consumer, on: session)
        } onFailure: { error in
            // Not connected yet: the consumer starts with the next connection.
            if (error as? AMQPError)?.code == .closed { continuation.finish(throwing: error) }
        }
        return AMQPDeliveries(stream: stream, intake: intake, connection: self, consumer: consumer)
    }

    /// Stops the deliveries to `consumer` (basic.cancel) and ends its stream. What it handed out
    /// stays in hand to be settled; a requeueing nack then makes it ready in the queue, not
    /// delivered again to this consumer.
    func cancel(_ consumer: AMQPConsumerRegistration) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            submit { session, io in
                consumer.cancelled = true
                if let channel = consumer.channel { try session.cancel(tag: consumer.tag, channel: channel) }
                consumer.continuation.finish()
                continuation.resume()
            } onFailure: { error in
                // Shut down: the consumer is gone with the connection.
                if (error as? AMQPError)?.code == .closed { continuation.resume() } else { continuation.resume(throwing: error) }
            }
        }
    }

    private static func start(_ consumer: AMQPConsumerRegistration, on session: AMQPSession) throws {
        let channel = try session.makeConsumerChannel()
        consumer.channel = channel
        try session.consume(queue: consumer.queue, channel: channel, prefetch: consumer.prefetch, tag: consumer.tag)
    }

    /// Queues the settlement; the I/O thread writes it in order, and a graceful close writes
    /// every queued one before closing. Not waiting for the write keeps a consumer's throughput
    /// close to the C client's; waiting would add nothing to the guarantee, as a written ack can
    /// still be lost with the connection.
    func settle(_ delivery: AMQPDelivery, _ settlement: AMQPSettlement) throws {
        let pending = AMQPPendingSettlement(
            generation: delivery.generation, channel: delivery.channel, tag: delivery.deliveryTag, settlement: settlement)
        let (accepted, first) = state.withLock { state -> (Bool, Bool) in
            guard !state.stopped else { return (false, false) }
            state.settlements.append(pending)
            return (true, state.settlements.count == 1 && state.commands.isEmpty)
        }
        guard accepted else { throw AMQPError(.closed, "the connection to \(configuration.address) is shut down") }
        intake.settled()
        if first { wakeup.signal() }
    }

    /// Writes the queued settlements. A run of acks for consecutive tags on one channel, starting
    /// at the channel's lowest unsettled tag, goes out as a single ack with `multiple` (which acks
    /// every tag up to the last: all of them in the run, and nothing below it is left open).
    private func writeSettlements(on session: AMQPSession) throws {
        let settlements = state.withLock { state in
            defer { state.settlements = [] }
            return state.settlements
        }
        var index = 0
        while index < settlements.count {
            let first = settlements[index]
            guard first.generation == io.generation else {
                // That channel is gone with its connection; the broker delivers the message again.
                index += 1
                continue
            }
            var last = index
            if first.settlement == .ack, io.unsettledTags[first.channel]?.lowest == first.tag {
                while last + 1 < settlements.count, settlements[last + 1].settlement == .ack,
                    settlements[last + 1].generation == first.generation, settlements[last + 1].channel == first.channel,
                    settlements[last + 1].tag == settlements[last].tag + 1
                {
                    last += 1
                }
            }
            try session.settle(channel: first.channel, tag: settlements[last].tag, first.settlement, multiple: last > index)
            for settled in settlements[index...last] { io.unsettledTags[first.channel]?.remove(settled.tag) }
            index = last + 1
        }
    }

    // MARK: - Commands

    /// Queues work for the I/O thread. `work` runs with the live session; if there is none, or it
    /// throws, `onFailure` gets the error.
    private func submit(
        _ work: @escaping @Sendable (AMQPSession, AMQPIOState) throws -> Void,
        onFailure: @escaping @Sendable (any Error) -> Void
    ) {
        if !enqueue(work, onFailure: onFailure) {
            onFailure(AMQPError(.closed, "the connection to \(configuration.address) is shut down"))
        }
    }

    /// Appends a command; wakes the I/O thread only when the queue was empty (it takes the whole
    /// queue each time). Returns false once the connection is shut down.
    private func enqueue(
        _ work: @escaping @Sendable (AMQPSession, AMQPIOState) throws -> Void,
        onFailure: @escaping @Sendable (any Error) -> Void
    ) -> Bool {
        let (accepted, wasEmpty) = state.withLock { state -> (Bool, Bool) in
            guard !state.stopped else { return (false, false) }
            state.commands.append(AMQPCommand(work: work, onFailure: onFailure))
            return (true, state.commands.count == 1 && state.settlements.isEmpty)
        }
        if wasEmpty { wakeup.signal() }
        return accepted
    }

    // MARK: - Service

    public func run() async throws {
        await runOnDedicatedThread(named: "amqp", { self.loop() }, stop: { self.requestStop() })
    }

    private func requestStop() {
        state.withLock { $0.stopRequested = true }
        wakeup.signal()
    }

    // MARK: - I/O thread

    private func loop() {
        var session: AMQPSession?
        var delay = configuration.reconnectDelay
        while !state.withLock({ $0.stopRequested }) {
            var failure: (any Error)?
            guard let current = session ?? connect(failure: &failure) else {
                failQueuedCommands(AMQPError(.connectionLost, "not connected to \(configuration.address) (\(failure.map { "\($0)" } ?? "unknown error")); reconnecting"))
                wakeup.wait(milliseconds: delay.wholeMilliseconds)
                delay = min(delay * 2, configuration.maximumReconnectDelay)
                continue
            }
            session = current
            delay = configuration.reconnectDelay
            do {
                try runCommands(on: current)
                if !current.hasBufferedFrames {
                    wakeup.waitForReadable(current.socket, milliseconds: max(100, configuration.heartbeat.wholeMilliseconds / 4))
                }
                try readEvents(from: current)
            } catch {
                logger.warning("amqp connection lost; reconnecting", metadata: ["amqp.server": "\(configuration.address)", "error": "\(error)"])
                lost(AMQPError(.connectionLost, "connection to \(configuration.address) lost: \(error)"))
                session = nil
            }
        }
        if let session { drainAndClose(session) }
        shutDown()
    }

    private func connect(failure: inout (any Error)?) -> AMQPSession? {
        do {
            let session = try AMQPSession.connect(configuration)
            io.generation += 1
            try session.declare(io.topology)
            io.consumers.removeAll(where: \.cancelled)
            for consumer in io.consumers { try Self.start(consumer, on: session) }
            logger.info("amqp connected", metadata: ["amqp.server": "\(configuration.address)", "amqp.consumers": "\(io.consumers.count)"])
            return session
        } catch let error as AMQPError where error.code == .server {
            // A refused declaration (unless the server reports trouble of its own) will not get
            // better by retrying: fail what waits, keep trying slowly.
            if error.isRetriable {
                logger.warning("amqp set-up failed on the server; trying again", metadata: ["amqp.server": "\(configuration.address)", "error": "\(error)"])
            } else {
                logger.error("amqp set-up refused", metadata: ["amqp.server": "\(configuration.address)", "error": "\(error)"])
            }
            failQueuedCommands(error)
            failure = error
            return nil
        } catch {
            logger.warning("amqp cannot connect", metadata: ["amqp.server": "\(configuration.address)", "error": "\(error)"])
            failure = error
            return nil
        }
    }

    private func runCommands(on session: AMQPSession) throws {
        try writeSettlements(on: session)
        let commands = state.withLock { state in
            let commands = state.commands
            state.commands = []
            return commands
        }
        for (index, command) in commands.enumerated() {
            do {
                try command.work(session, io)
            } catch let error as AMQPError where error.code == .connectionLost {
                command.onFailure(error)
                // The rest wait for the next connection.
                state.withLock { $0.commands.insert(contentsOf: commands[(index + 1)...], at: 0) }
                throw error
            } catch {
                command.onFailure(error)
                if session.isBroken {
                    // The caller has its answer; the rest wait for the next connection.
                    state.withLock { $0.commands.insert(contentsOf: commands[(index + 1)...], at: 0) }
                    throw AMQPError(.connectionLost, "the server closed a channel (\(error)); starting over")
                }
            }
        }
    }

    private func readEvents(from session: AMQPSession) throws {
        while let event = try session.nextEvent() {
            switch event {
            case .delivery(let channel, let exchange, let routingKey, let tag, let redelivered, let content):
                let (consumer, generation) = (io.consumers.first { $0.channel == channel }, io.generation)
                if consumer != nil { io.unsettledTags[channel, default: UnsettledTags()].append(tag) }
                consumer?.continuation.yield(AMQPDelivery(
                    exchange: exchange, routingKey: routingKey, body: content.body, messageID: content.messageID,
                    contentType: content.contentType, type: content.type, correlationID: content.correlationID,
                    headers: content.headers, lastDeath: content.lastDeath, redelivered: redelivered, deliveryTag: tag, channel: channel,
                    generation: generation, connection: self))
            case .confirmed(let tag, let multiple, let ok):
                // Tags only grow: a multiple ack covers the pending ones from the lowest up to `tag`.
                let tags: ClosedRange<UInt64> = multiple ? min(io.lowestPendingTag, tag)...tag : tag...tag
                var settled: [(ConfirmBatch, Bool, String?)] = []
                for tag in tags {
                    guard let batch = io.pendingConfirms.removeValue(forKey: tag) else { continue }
                    settled.append((batch, ok, io.returnedTags.isEmpty ? nil : io.returnedTags.removeValue(forKey: tag)))
                }
                if multiple || tag == io.lowestPendingTag { io.lowestPendingTag = tag + 1 }
                for (batch, ok, returned) in settled {
                    if let returned {
                        batch.fail(AMQPError(.returned, "message returned by the broker: \(returned)"))
                    } else if ok {
                        batch.confirmOne()
                    } else {
                        batch.fail(AMQPError(.nacked, "the broker did not accept the message (nack)"))
                    }
                }
            case .returned(let messageID, let reason):
                if let messageID, let tag = io.mandatoryTags.removeValue(forKey: messageID) {
                    io.returnedTags[tag] = reason
                }
            case .cancelled(let channel):
                logger.warning("amqp consumer cancelled by the broker (queue deleted?)", metadata: ["amqp.channel": "\(channel)"])
            case .closed(let reason):
                throw AMQPError(.connectionLost, reason)
            }
        }
        session.releaseBuffers()
        // Forget mandatory bookkeeping for messages already confirmed.
        if io.mandatoryTags.count > 10_000 { io.mandatoryTags = io.mandatoryTags.filter { io.pendingConfirms[$0.value] != nil } }
    }

    /// The connection dropped: fail unconfirmed publishes (retriable), keep consumers for the next one.
    private func lost(_ error: AMQPError) {
        let batches = Array(io.pendingConfirms.values)
        io.pendingConfirms = [:]
        io.lowestPendingTag = 1
        io.mandatoryTags = [:]
        io.returnedTags = [:]
        io.unsettledTags = [:]
        for consumer in io.consumers { consumer.channel = nil }
        for batch in batches { batch.fail(error) }
    }

    private func failQueuedCommands(_ error: any Error) {
        let commands = state.withLock { state in
            let commands = state.commands
            state.commands = []
            return commands
        }
        for command in commands { command.onFailure(error) }
    }

    /// Graceful close: stop deliveries, give what is in hand time to be settled, sync each channel
    /// so its acks are processed, wait for confirms, then close.
    private func drainAndClose(_ session: AMQPSession) {
        let consumers = io.consumers
        for consumer in consumers {
            if let channel = consumer.channel, !consumer.cancelled { try? session.cancel(tag: consumer.tag, channel: channel) }
        }
        // From here on the count of deliveries in hand can only fall.
        intake.close()
        let deadline = ContinuousClock.now + configuration.drainTimeout
        while ContinuousClock.now < deadline {
            let busy = intake.inHand > 0 || !io.pendingConfirms.isEmpty || state.withLock { !$0.commands.isEmpty || !$0.settlements.isEmpty }
            guard busy else { break }
            do {
                try runCommands(on: session)
                wakeup.waitForReadable(session.socket, milliseconds: 50)
                try readEvents(from: session)
            } catch {
                break
            }
        }
        for consumer in consumers {
            if let channel = consumer.channel {
                try? session.sync(channel: channel, prefetch: consumer.prefetch)
                session.closeChannel(channel)
            }
        }
        session.close()
    }

    private func shutDown() {
        // Also when stopped while disconnected (no drain ran): buffered deliveries stay unhanded.
        intake.close()
        let commands = state.withLock { state in
            state.stopped = true
            defer { state.commands = [] }
            return state.commands
        }
        let (batches, consumers) = (Array(io.pendingConfirms.values), io.consumers)
        io.pendingConfirms = [:]
        let closed = AMQPError(.closed, "the connection to \(configuration.address) is shut down")
        for command in commands { command.onFailure(closed) }
        for batch in batches { batch.fail(closed) }
        for consumer in consumers { consumer.continuation.finish() }
    }
}

// MARK: - State

struct AMQPSharedState: Sendable {
    var commands: [AMQPCommand] = []
    /// Acks, nacks and rejects waiting to be written, in the order the application made them.
    var settlements: [AMQPPendingSettlement] = []
    var stopRequested = false
    var stopped = false
}

/// The connection's bookkeeping, owned by its I/O thread: only that thread reads or writes it
/// (commands run there too), which is what makes the unchecked `Sendable` sound.
final class AMQPIOState: @unchecked Sendable {
    var topology: AMQPTopology
    var consumers: [AMQPConsumerRegistration] = []
    /// Publish delivery tag to the batch waiting for its confirm.
    var pendingConfirms: [UInt64: ConfirmBatch] = [:]
    /// No publish below this tag still waits for its confirm.
    var lowestPendingTag: UInt64 = 1
    /// Message id to delivery tag, for mandatory messages, to match a basic.return.
    var mandatoryTags: [String: UInt64] = [:]
    /// Tags whose message came back, with the reason; their confirm then fails.
    var returnedTags: [UInt64: String] = [:]
    /// Counts connections; a delivery from an earlier one cannot be settled any more.
    var generation = 0
    /// Per consumer channel, the delivery tags handed out and not yet settled, ascending (tags
    /// only grow). A run of acks may go out as one `multiple` ack only from the lowest of these,
    /// or it would also ack deliveries still being worked on.
    var unsettledTags: [UInt16: UnsettledTags] = [:]

    init(topology: AMQPTopology) {
        self.topology = topology
    }
}

/// Ascending delivery tags of one channel that wait for their settlement.
struct UnsettledTags {
    private var tags: [UInt64] = []
    private var head = 0

    var lowest: UInt64? { head < tags.count ? tags[head] : nil }

    mutating func append(_ tag: UInt64) { tags.append(tag) }

    mutating func remove(_ tag: UInt64) {
        var low = head
        var high = tags.count
        while low < high {
            let middle = (low + high) / 2
            if tags[middle] < tag { low = middle + 1 } else { high = middle }
        }
        guard low < tags.count, tags[low] == tag else { return }
        if low == head {
            head += 1
            if head > 1024 && head * 2 > tags.count {
                tags.removeFirst(head)
                head = 0
            }
        } else {
            tags.remove(at: low)
        }
    }
}

struct AMQPPendingSettlement: Sendable {
    let generation: Int
    let channel: UInt16
    let tag: UInt64
    let settlement: AMQPSettlement
}

struct AMQPCommand: Sendable {
    let work: @Sendable (AMQPSession, AMQPIOState) throws -> Void
    let onFailure: @Sendable (any Error) -> Void
}

/// A consumer to start on every connection. Its channel is set only on the I/O thread.
final class AMQPConsumerRegistration: @unchecked Sendable {
    let queue: String
    let prefetch: Int
    let tag: String
    let continuation: AsyncThrowingStream<AMQPDelivery, any Error>.Continuation
    var channel: UInt16?
    /// Cancelled by its owner: not started again after a reconnect.
    var cancelled = false

    init(queue: String, prefetch: Int, tag: String, continuation: AsyncThrowingStream<AMQPDelivery, any Error>.Continuation) {
        self.queue = queue
        self.prefetch = prefetch
        self.tag = tag
        self.continuation = continuation
    }
}

/// Publishes waiting for their confirms; the caller resumes when all are confirmed or one fails.
final class ConfirmBatch: @unchecked Sendable {
    private let lock = Mutex<(remaining: Int, continuation: CheckedContinuation<Void, any Error>?)>((0, nil))

    init(count: Int, continuation: CheckedContinuation<Void, any Error>) {
        lock.withLock { $0 = (count, continuation) }
    }

    func confirmOne() {
        let continuation = lock.withLock { state -> CheckedContinuation<Void, any Error>? in
            state.remaining -= 1
            guard state.remaining == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return continuation
        }
        continuation?.resume()
    }

    func fail(_ error: any Error) {
        let continuation = lock.withLock { state -> CheckedContinuation<Void, any Error>? in
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(throwing: error)
    }
}

/// A consumer's deliveries; taking one counts it as in hand until it is settled. The sequence
/// ends once the connection starts draining, even with deliveries still buffered.
public struct AMQPDeliveries: AsyncSequence, Sendable {
    public typealias Element = AMQPDelivery
    let stream: AsyncThrowingStream<AMQPDelivery, any Error>
    let intake: AMQPIntake
    let connection: AMQPConnection
    let consumer: AMQPConsumerRegistration

    /// Cancels the consumer: no more deliveries, and the stream ends. Deliveries already handed
    /// out still take an ack or a nack.
    public func cancel() async throws {
        try await connection.cancel(consumer)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<AMQPDelivery, any Error>.AsyncIterator
        let intake: AMQPIntake

        public mutating func next() async throws -> AMQPDelivery? {
            guard let delivery = try await base.next(), intake.take() else { return nil }
            return delivery
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), intake: intake)
    }
}

/// The deliveries a connection has handed out and not yet seen settled, and whether it still
/// hands any out. One lock for both, so a delivery is either counted before draining looks, or
/// never handed out: draining cannot miss one that is being taken.
final class AMQPIntake: Sendable {
    private let state = Mutex<(inHand: Int, open: Bool)>((0, true))

    var inHand: Int { state.withLock { $0.inHand } }

    /// Whether deliveries are still handed out (false once draining began).
    var isOpen: Bool { state.withLock { $0.open } }

    /// Counts a delivery as in hand; false once the intake is closed (the delivery stays
    /// unsettled, and the channel's close returns it to the queue).
    func take() -> Bool {
        state.withLock { state in
            guard state.open else { return false }
            state.inHand += 1
            return true
        }
    }

    func settled() {
        state.withLock { $0.inHand -= 1 }
    }

    func close() {
        state.withLock { $0.open = false }
    }
}
