import Foundation
import Synchronization

/// The counts every client adds to, and the once-a-second progress line on stderr.
final class LoadtestProgress: Sendable {
    struct Counts: Sendable {
        var phase = "products"
        var sent = 0
        var accepted = 0
        var errors: [String: Int] = [:]
        var reserved = 0
        var rejected = 0
        var pollErrors: [String: Int] = [:]

        var errorCount: Int { errors.values.reduce(0, +) }
    }

    private let counts = Mutex(Counts())

    var snapshot: Counts { counts.withLock { $0 } }

    func enter(_ phase: String) { counts.withLock { $0.phase = phase } }
    func sent() { counts.withLock { $0.sent += 1 } }
    func accepted() { counts.withLock { $0.accepted += 1 } }
    func failed(_ kind: String) { counts.withLock { $0.errors[kind, default: 0] += 1 } }
    func pollFailed(_ kind: String) { counts.withLock { $0.pollErrors[kind, default: 0] += 1 } }

    func decided(_ stock: String) {
        counts.withLock {
            if stock == "reserved" { $0.reserved += 1 } else { $0.rejected += 1 }
        }
    }

    /// Prints a line a second until cancelled.
    func report(every interval: Duration = .seconds(1)) async {
        let start = ContinuousClock.now
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            let now = snapshot
            let elapsed = (ContinuousClock.now - start).seconds
            let line = "loadtest \(String(format: "%6.1f", elapsed))s [\(now.phase)] sent \(now.sent)  accepted \(now.accepted)"
                + "  errors \(now.errorCount)  reserved \(now.reserved)  rejected \(now.rejected)\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
