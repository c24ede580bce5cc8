internal import CSodium

/// libsodium, initialised once per process (`sodium_init` is idempotent and thread-safe after
/// its first call, which this makes happen before any other use).
enum Sodium {
    private static let initialised: Bool = sodium_init() >= 0

    static func ensureInitialised() throws(SodiumError) {
        guard initialised else { throw SodiumError(.initialisation, "sodium_init failed") }
    }
}
