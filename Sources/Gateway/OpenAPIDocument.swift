/// The OpenAPI 3.1 document served at `/openapi.json` (`openapi.json` next to this file,
/// embedded in the binary at build time). `GatewayTests` checks that it lists exactly the
/// routes the router has, and schemathesis checks the answers against it.
public enum OpenAPIDocument {
    public static var bytes: [UInt8] { PackageResources.openapi_json }
}
