import Auth
import Catalog
import GraphQLAPI
import DomainRuntime
import Mailing
import Ordering

/// The domains this executable runs: the one list a new domain is added to
/// (docs/adding-a-domain.md). The gateway's routes, the worker roles, the topics, the delay
/// levels and the configuration keys are derived from their declarations (``DomainSet``).
enum Domains {
    static let all: DomainSet = {
        do {
            return try DomainSet([AuthDomain.module, CatalogDomain.module, OrderingDomain.module, MailingDomain.module, StorefrontGraphQL.module])
        } catch {
            fatalError("the domains' declarations clash: \(error)")
        }
    }()
}
