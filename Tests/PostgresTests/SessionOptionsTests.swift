import Postgres
import Testing

/// libpq's `options` for each session: the configuration's (`PGOPTIONS` by default, as every libpq
/// program reads it), then the settings the decoding relies on, which hold whatever came before.
@Suite("Session settings", .timeLimit(.minutes(1)))
struct SessionOptionsTests {
    @Test("server options (PGOPTIONS) apply to every session, and the settings decoding relies on still hold")
    func serverOptions() async throws {
        var configuration = try TestServers.primary
        configuration.serverOptions = "-c statement_timeout=1234 -c TimeZone=Europe/Paris -c extra_float_digits=0"
        let pool = PostgresPool(configuration: configuration, logger: TestServers.logger)
        let row = try await pool.query("""
            SELECT current_setting('statement_timeout') AS timeout, current_setting('TimeZone') AS zone,
                   current_setting('extra_float_digits') AS digits
            """).single()
        #expect(try row.decode("timeout", as: String.self) == "1234ms")
        #expect(try row.decode("zone", as: String.self) == "UTC")
        #expect(try row.decode("digits", as: String.self) == "3")
        pool.close()
    }

    @Test("without server options, libpq gets only the fixed settings")
    func noServerOptions() throws {
        var configuration = try TestServers.primary
        configuration.serverOptions = "  "
        #expect(configuration.libpqOptions == PostgresConfiguration.fixedServerOptions)
        configuration.serverOptions = "-c work_mem=8MB"
        #expect(configuration.libpqOptions == "-c work_mem=8MB " + PostgresConfiguration.fixedServerOptions)
    }
}
