import CLibPQ
import Glibc

/// A non-blocking pipe that wakes a thread blocked in `poll`.
final class WakeupPipe: Sendable {
    let readDescriptor: Int32
    private let writeDescriptor: Int32

    init() throws {
        var descriptors: [Int32] = [0, 0]
        guard emp_make_wakeup_pipe(&descriptors) == 0 else {
            throw PostgresError(.invalidConfiguration, "cannot create a pipe (errno \(errno))")
        }
        readDescriptor = descriptors[0]
        writeDescriptor = descriptors[1]
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readDescriptor, &buffer, buffer.count) > 0 {}
    }

    /// Sleeps until signalled or the time-out passes.
    func wait(timeoutMilliseconds: Int32) {
        _ = emp_pq_wait(readDescriptor, 0, timeoutMilliseconds)
        drain()
    }
}
