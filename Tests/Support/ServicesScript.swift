import Foundation

/// The local services script (`deploy/local/services.sh`), for tests that stop or restart a server.
public enum ServicesScript {
    public static var path: String {
        ProcessInfo.processInfo.environment["EMPORIUM_SERVICES_SCRIPT"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("deploy/local/services.sh").path
    }

    /// Runs `services.sh argument` and waits for it.
    public static func run(_ argument: String) throws {
        let status = try ChildProcess(["/bin/bash", path, argument]).waitBlocking()
        guard status == 0 else {
            throw ChildProcessFailure(description: "services.sh \(argument) exited with status \(status)")
        }
    }
}
