#ifndef EMPORIUM_COPENSSL_SHIM_H
#define EMPORIUM_COPENSSL_SHIM_H
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/// Macros over SSL_ctrl, which Swift does not import.
static inline int emp_ssl_ctx_min_tls12(SSL_CTX *ctx) { return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION); }

/// The name the server's certificate must carry: an IP address (checked against its IP SANs) or
/// a host name (its DNS SANs, and sent as SNI).
static inline int emp_ssl_expect_host(SSL *ssl, const char *host) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1) return 1;
    if (SSL_set_tlsext_host_name(ssl, host) != 1) return 0;
    return SSL_set1_host(ssl, host);
}
#endif
