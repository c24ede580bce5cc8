import Glibc

/// A non-blocking pipe that wakes a thread blocked in `poll`: the I/O threads of the listener and
/// the AMQP connection wait on their socket and on this, so new work does not wait for a time-out.
public final class WakeupPipe: Sendable {
    private let readDescriptor: Int32
    private let writeDescriptor: Int32

    public init() throws(WakeupPipeError) {
        var descriptors: [Int32] = [0, 0]
        guard pipe(&descriptors) == 0 else { throw WakeupPipeError(errno: errno) }
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        readDescriptor = descriptors[0]
        writeDescriptor = descriptors[1]
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    /// Wakes the waiting thread (or the next wait, if none waits now).
    public func signal() {
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    /// Sleeps until signalled or `milliseconds` pass.
    public func wait(milliseconds: Int) {
        _ = waitForReadable(readDescriptor, milliseconds: milliseconds)
    }

    /// Waits until `descriptor` is readable, the pipe is signalled, or `milliseconds` pass; returns
    /// whether `descriptor` became readable (or hung up). Consumes the signal.
    @discardableResult
    public func waitForReadable(_ descriptor: Int32, milliseconds: Int) -> Bool {
        var descriptors = [
            pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: readDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        let ready = poll(&descriptors, nfds_t(descriptor == readDescriptor ? 1 : 2), Int32(milliseconds))
        drain()
        guard ready > 0 else { return false }
        return descriptor != readDescriptor && descriptors[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0
    }

    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readDescriptor, &buffer, buffer.count) > 0 {}
    }
}

public struct WakeupPipeError: Error, CustomStringConvertible {
    public let errno: Int32
    public var description: String { "cannot create a wake-up pipe (errno \(errno))" }
}
