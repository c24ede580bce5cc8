import Foundation

/// The local services script (`deploy/local/services.sh`), for tests that stop or restart a server.
public enum ServicesScript {
    public static var path: String {
        ProcessInfo.processInfo.environment["EMPORIUM_SERVICES_SCRIPT"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("deploy/local/services.sh").path
    }

    /// Runs `services.sh argument` and waits for it, without holding one of the test runner's
    /// (two, on these machines) threads while the script restarts a server.
    public static func run(_ argument: String) async throws {
        try await ChildProcess.run(["/bin/bash", path, argument], timeout: .seconds(180))
    }
}
