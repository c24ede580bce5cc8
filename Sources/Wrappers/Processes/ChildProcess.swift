import CSpawn
public import Foundation
import Synchronization

/// A child process that tests and `emporium chaos` start, signal and wait for. posix_spawn and
/// waitpid: Foundation's `Process.waitUntilExit` was seen to hang here.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let command: String
    /// The wait status, once reaped.
    private let ended = Mutex<Int32?>(nil)

    /// Starts `arguments[0]` (an absolute path) with this process's environment plus `environment`.
    public init(_ arguments: [String], environment: [String: String] = [:]) throws {
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, new in new }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // The child starts with every signal at its default and none blocked: this process may
        // ignore SIGTERM and SIGINT (ServiceLifecycle handles them through dispatch sources), and
        // both would be inherited through exec. A server a chaos run restarted ignored SIGTERM
        // for good that way, and `services.sh down` could not stop it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        var none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        // The child closes every descriptor above standard error before its exec: close-on-exec
        // alone leaves them open in the child a moment after posix_spawn has returned here, and
        // not every library marks its descriptors close-on-exec (librdkafka's mock brokers accept
        // connections without it, so a fleet process started by a test kept them open).
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let command = arguments.joined(separator: " ")
        func failure(_ code: Int32) -> ChildProcessFailure {
            ChildProcessFailure(description: "cannot start \(command): \(String(cString: strerror(code)))")
        }
        let closing = posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        guard closing == 0 else { throw failure(closing) }
        var pid: pid_t = 0
        let result = Self.starting.withLock { _ in posix_spawn(&pid, arguments[0], &actions, &attributes, &argv, &envp) }
        guard result == 0 else { throw failure(result) }
        self.pid = pid
        self.command = command
    }

    /// Held while a child starts. glibc's posix_spawn returns once the child has called exec
    /// (it clones with CLONE_VFORK); until then the child holds a copy of every descriptor of this
    /// process (its file actions close them just before the exec).
    private static let starting = Mutex<Void>(())

    /// Runs `body` while no child of this process is starting, so that no child holds a copy of a
    /// descriptor `body` closes. A listening socket closed and bound again at once needs this:
    /// while a starting child still holds the old socket, the port is taken.
    public static func withNoneStarting<T>(_ body: () throws -> T) rethrows -> T {
        try starting.withLock { _ in try body() }
    }

    /// Sends `signal`, unless the process has ended (its pid may be another's by then).
    public func signal(_ signal: Int32) {
        guard (try? exitStatus()) == nil else { return }
        kill(pid, signal)
    }

    /// Waits for the process to end (polling, so no thread blocks) and returns its wait status.
    @discardableResult
    public func wait(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status = try exitStatus() { return status }
            guard ContinuousClock.now < deadline else { throw ChildProcessFailure(description: "\(command) still running after \(timeout)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The wait status if the process has ended (reaping it), `nil` while it runs.
    public func exitStatus() throws -> Int32? {
        try ended.withLock { ended in
            if let ended { return ended }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                ended = status
                return status
            }
            if result == -1 && errno != EINTR { throw ChildProcessFailure(description: "waitpid \(pid): \(String(cString: strerror(errno)))") }
            return nil
        }
    }

    /// Runs `command` under /bin/sh to the end and returns its standard output; throws unless it
    /// exits with status 0.
    public static func shell(_ command: String, timeout: Duration = .seconds(60)) async throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("emporium-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: output) }
        try await run(["/bin/sh", "-c", "( \(command) ) > '\(output.path)'"], timeout: timeout)
        return try String(contentsOf: output, encoding: .utf8)
    }

    /// Runs `arguments` to the end; throws unless it exits with status 0.
    public static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(300)) async throws {
        let child = try ChildProcess(arguments, environment: environment)
        let status = try await child.wait(timeout: timeout)
        guard status == 0 else { throw ChildProcessFailure(description: "\(child.command) exited with status \(status)") }
    }
}

public struct ChildProcessFailure: Error, CustomStringConvertible {
    public let description: String
}
