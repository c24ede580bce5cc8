import Foundation

/// The local services script (`deploy/local/services.sh`), for tests that stop or restart a server.
public enum ServicesScript {
    public static var path: String {
        ProcessInfo.processInfo.environment["EMPORIUM_SERVICES_SCRIPT"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("deploy/local/services.sh").path
    }

    /// Runs `services.sh argument` and waits for it. Spawned and awaited with posix_spawn/waitpid:
    /// Foundation's `Process.waitUntilExit` was seen to hang here.
    public static func run(_ argument: String) throws {
        let arguments = ["/bin/bash", path, argument]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/bash", nil, nil, &argv, environ) == 0 else {
            throw ServicesScriptFailure(description: "cannot start services.sh \(argument)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else {
            throw ServicesScriptFailure(description: "services.sh \(argument) exited with status \(status)")
        }
    }
}

public struct ServicesScriptFailure: Error, CustomStringConvertible {
    public let description: String
}
