import EmporiumTestSupport
import Foundation
import Testing

/// The child processes the tests and the chaos run start (servers among them).
@Suite("Child processes")
struct ChildProcessTests {
    @Test("a child starts with default signal handling, whatever this process ignores")
    func defaultSignals() async throws {
        // ServiceLifecycle makes a process ignore SIGTERM (it takes it through a dispatch source);
        // before the fix a child inherited that through exec, and a Redis the chaos run restarted
        // could not be stopped with SIGTERM.
        let previous = signal(SIGTERM, SIG_IGN)
        defer { signal(SIGTERM, previous) }
        let status = try await ChildProcess.shell("grep '^SigIgn:' /proc/self/status")
        let mask = try #require(UInt64(status.split(separator: "\t").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "", radix: 16), "\(status)")
        #expect(mask & (1 << (UInt64(SIGTERM) - 1)) == 0, "the child ignores SIGTERM: \(status)")
    }
}
