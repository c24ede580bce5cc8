import DomainRuntime
import ArgumentParser
import Auth
import Catalog
import Foundation
import Logging
import Postgres

/// `emporium seed`: a small catalog and a few customer accounts with known passwords, so a
/// newcomer can log in and order within a minute. Safe to run again: what exists is left alone.
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed", abstract: "Load a small catalog and a few customer accounts with known passwords (idempotent).")

    static let products: [NewProduct] = [
        NewProduct(sku: "TEA-SENCHA", name: "Sencha green tea, 100 g", priceMinor: 890, currency: "EUR", stock: 120),
        NewProduct(sku: "TEA-ASSAM", name: "Assam black tea, 250 g", priceMinor: 1250, currency: "EUR", stock: 80),
        NewProduct(sku: "POT-CAST-IRON", name: "Cast-iron teapot, 0.8 l", priceMinor: 4900, currency: "EUR", stock: 15),
        NewProduct(sku: "CUP-PORCELAIN", name: "Porcelain cup", priceMinor: 1400, currency: "EUR", stock: 60),
        NewProduct(sku: "KETTLE-GOOSENECK", name: "Gooseneck kettle", priceMinor: 6900, currency: "EUR", stock: 8),
        NewProduct(sku: "FILTER-PAPER", name: "Tea filters, 100 pieces", priceMinor: 350, currency: "EUR", stock: 300),
    ]

    static let customers: [(email: String, password: String)] = [
        ("ada@example.com", "ada-password-1"),
        ("grace@example.com", "grace-password-1"),
        ("linus@example.com", "linus-password-1"),
    ]

    func run() async throws {
        var logger = Logger(label: "emporium.seed")
        logger.logLevel = .warning
        let environment = try SettingsReader()
        try environment.refusePlaceholderSecrets()
        let settings = try DatabaseSettings(settings: environment)
        let auth = try AuthSettings(settings: environment, namespace: "seed")
        let pool = PostgresPool(configuration: settings.primary, logger: logger)
        defer { pool.close() }
        let database = PostgresRouter(primary: pool, replica: nil, logger: logger)
        let catalog = CatalogStore(database: database)
        let accounts = AccountSeeding(database: database, passwords: try await PasswordVault.make(cost: auth.passwordCost))

        print("catalog (SKU, price, stock):")
        for product in Self.products {
            let created: Bool
            do {
                _ = try await catalog.create(product, cause: CatalogStore.Cause(requestID: "seed", correlationID: "seed-\(product.sku)"))
                created = true
            } catch {
                guard try await catalog.product(product.sku) != nil else { throw error }
                created = false
            }
            let price = String(format: "%.2f", Double(product.priceMinor) / 100)
            print("  \(product.sku.padding(toLength: 18, withPad: " ", startingAt: 0)) \(price) \(product.currency)  x\(product.stock)\(created ? "" : "  (already there)")")
        }
        print("customers (e-mail / password), verified:")
        for customer in Self.customers {
            let created = try await accounts.ensure(email: customer.email, password: customer.password)
            print("  \(customer.email) / \(customer.password)\(created ? "" : "  (already there)")")
        }
        print("log in with POST /auth/login {\"email\":..., \"password\":...}, then order with the token")
    }
}
