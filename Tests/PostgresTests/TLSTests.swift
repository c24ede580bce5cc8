import Foundation
import Postgres
import Testing

/// PostgreSQL over TLS: libpq's own `sslmode` and `sslrootcert`, passed through from the URL,
/// against the local primary (ssl on, certificate from the checkout's CA: deploy/local/services.sh).
@Suite("PostgreSQL over TLS", .timeLimit(.minutes(1)))
struct PostgresTLSTests {
    static var url: String {
        get throws {
            try #require(TestServers.environment["POSTGRES_TLS_URL"], "POSTGRES_TLS_URL is not set: eval \"$(bash deploy/local/services.sh env)\"")
        }
    }

    @Test("sslmode=verify-full with the CA that signed the server's certificate: the session is encrypted")
    func encryptedSession() async throws {
        let pool = PostgresPool(configuration: try PostgresConfiguration(url: try Self.url, key: "POSTGRES_PRIMARY_URL"), logger: TestServers.logger)
        let row = try await pool.query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").single()
        #expect(try row.decode("ssl", as: Bool.self))
        #expect(try row.decode("version", as: String.self).hasPrefix("TLS"))
    }

    @Test("a server whose certificate the given CA does not vouch for is refused, naming the server")
    func untrustedServerRefused() async throws {
        // The system's CAs know nothing of the local CA.
        let url = try Self.url.replacingOccurrences(of: #"sslrootcert=[^&]*"#, with: "sslrootcert=/etc/ssl/certs/ca-certificates.crt", options: .regularExpression)
        var configuration = try PostgresConfiguration(url: url, key: "POSTGRES_PRIMARY_URL")
        configuration.connectTimeout = .seconds(5)
        let error = try await #require(throws: PostgresError.self) {
            try await PostgresPool(configuration: configuration, logger: TestServers.logger).query("SELECT 1")
        }
        #expect(error.code == .connectionFailed)
        #expect(error.message.contains(configuration.address) && error.message.contains("certificate"), "\(error.message)")
    }
}
