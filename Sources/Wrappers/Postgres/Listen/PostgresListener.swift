import ConnectionPool
import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// Receives LISTEN/NOTIFY messages on a connection of its own.
///
/// The connection is watched by a dedicated thread (libpq blocks), which also reconnects with
/// backoff and listens again to every channel. A notification sent while the connection was
/// down is lost, as PostgreSQL does not keep them: users poll as a fallback.
///
/// ```swift
/// let notifications = try await listener.listen(to: "outbox")
/// for await notification in notifications { ... }
/// ```
public final class PostgresListener: Service, Sendable {
    private let configuration: PostgresConfiguration
    private let logger: Logger
    private let reconnectDelay: Duration
    private let state = Mutex(ListenerState())
    /// Wakes the watcher thread out of `poll` when there is a new request or it must stop.
    private let wakeup: WakeupPipe

    public init(configuration: PostgresConfiguration, logger: Logger, reconnectDelay: Duration = .milliseconds(500)) throws {
        self.configuration = configuration
        self.logger = logger
        self.reconnectDelay = reconnectDelay
        do {
            self.wakeup = try WakeupPipe()
        } catch {
            throw PostgresError(.invalidConfiguration, "\(error)")
        }
    }

    /// Listens to `channel` and returns its notifications. Returns once the server runs LISTEN, so
    /// every NOTIFY committed after that arrives. Needs ``run()`` to be running.
    public func listen(to channel: String) async throws -> AsyncStream<PostgresNotification> {
        let (stream, continuation) = AsyncStream<PostgresNotification>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let id = UUID()
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { $0.subscribers[channel]?[id] = nil }
        }
        let alreadyListening = state.withLock { state in
            state.subscribers[channel, default: [:]][id] = continuation
            return state.listening.contains(channel)
        }
        if alreadyListening { return stream }
        try await withCheckedThrowingContinuation { (request: CheckedContinuation<Void, any Error>) in
            let rejected = state.withLock { state -> Bool in
                if state.stopped { return true }
                state.pending.append((channel, request))
                return false
            }
            if rejected {
                request.resume(throwing: PostgresError(.connectionClosed, "the listener has stopped", server: configuration.address))
            } else {
                wakeup.signal()
            }
        }
        return stream
    }

    // MARK: - Service

    /// Watches the connection on a dedicated thread until graceful shutdown or cancellation.
    public func run() async throws {
        await runOnDedicatedThread(named: "pg.listener", { self.watch() }, stop: { self.stop() })
    }

    private func stop() {
        state.withLock { $0.stopped = true }
        wakeup.signal()
    }

    // MARK: - Watcher thread

    private func watch() {
        var connection: PGConnectionHandle?
        var backoff = reconnectDelay
        while !state.withLock({ $0.stopped }) {
            guard let current = connection ?? reconnect() else {
                wakeup.wait(milliseconds: backoff.wholeMilliseconds)
                backoff = min(backoff * 2, .seconds(10))
                continue
            }
            connection = current
            backoff = reconnectDelay
            do {
                try servePendingRequests(on: current)
                // A command's round trip may have read notifications into libpq's queue already:
                // take them before waiting for the socket, which would not signal them again.
                deliver(try current.drainNotifications())
                wakeup.waitForReadable(current.socket, milliseconds: 1000)
                deliver(try current.drainNotifications())
                if !current.isConnected { throw current.connectionError() }
            } catch {
                logger.warning("postgres listener lost its connection; reconnecting", metadata: [
                    "postgres.server": "\(configuration.address)", "error": "\(error)",
                ])
                connection = nil
            }
        }
        let (pending, subscribers) = state.withLock { state in
            let pending = state.pending
            state.pending = []
            return (pending, state.subscribers.values.flatMap(\.values))
        }
        for (_, request) in pending {
            request.resume(throwing: PostgresError(.connectionClosed, "the listener has stopped", server: configuration.address))
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    /// Connects and listens again to every channel that had been listened to.
    private func reconnect() -> PGConnectionHandle? {
        do {
            let connection = try PGConnectionHandle.connect(configuration, logger: logger)
            for channel in state.withLock({ $0.listening }) {
                try connection.executeBlocking("LISTEN \(try connection.quoteIdentifier(channel))")
            }
            return connection
        } catch {
            logger.warning("postgres listener cannot connect", metadata: [
                "postgres.server": "\(configuration.address)", "error": "\(error)",
            ])
            return nil
        }
    }

    private func servePendingRequests(on connection: PGConnectionHandle) throws {
        let pending = state.withLock { state in
            let pending = state.pending
            state.pending = []
            return pending
        }
        for (index, (channel, request)) in pending.enumerated() {
            do {
                try connection.executeBlocking("LISTEN \(try connection.quoteIdentifier(channel))")
                state.withLock { _ = $0.listening.insert(channel) }
                request.resume()
            } catch let error as PostgresError where error.isConnectionLoss {
                // Put this request and the rest back; they are served after reconnecting.
                state.withLock { $0.pending.insert(contentsOf: pending[index...], at: 0) }
                throw error
            } catch {
                request.resume(throwing: error)
            }
        }
    }

    private func deliver(_ notifications: [PostgresNotification]) {
        guard !notifications.isEmpty else { return }
        for notification in notifications {
            let subscribers = state.withLock { Array(($0.subscribers[notification.channel] ?? [:]).values) }
            for subscriber in subscribers { subscriber.yield(notification) }
        }
    }
}

/// The listener's shared state, guarded by its mutex.
struct ListenerState: Sendable {
    var subscribers: [String: [UUID: AsyncStream<PostgresNotification>.Continuation]] = [:]
    /// Channels LISTENed on the current connection (and to listen again after a reconnect).
    var listening: Set<String> = []
    /// LISTEN requests the watcher thread has not run yet.
    var pending: [(channel: String, request: CheckedContinuation<Void, any Error>)] = []
    var stopped = false
}
