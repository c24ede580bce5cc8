import ConnectionPool
import Foundation
import Synchronization
import Testing

/// The wrappers' own threads (event loops, poll and I/O loops) carry their names where `ps -L`,
/// `top -H` and `perf` show them, which is how a profile tells them from Swift's pool.
@Suite("Threads of the wrappers")
struct ThreadNameTests {
    /// The calling thread's name as the kernel has it.
    private static func kernelName() -> String? {
        (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
    }

    private static func nameSeen(onThreadNamed name: String) async -> String? {
        let seen = Mutex<String?>(nil)
        await runOnDedicatedThread(named: name, { seen.withLock { $0 = kernelName() } }, stop: {})
        return seen.withLock { $0 }
    }

    @Test("a thread has its name, and a name over Linux's 15 bytes is cut rather than lost")
    func names() async {
        #expect(await Self.nameSeen(onThreadNamed: "kafka.producer") == "kafka.producer")
        #expect(await Self.nameSeen(onThreadNamed: "emporium.postgres.listener") == "emporium.postgr")
    }
}
