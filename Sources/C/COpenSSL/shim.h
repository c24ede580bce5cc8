#ifndef EMPORIUM_COPENSSL_SHIM_H
#define EMPORIUM_COPENSSL_SHIM_H
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/// Macros over SSL_ctrl and SSL_CTX_set_options, which Swift does not import: TLS 1.2 at least; a
/// peer that closes without close_notify (Redis does) reads as a close, not a protocol error; and
/// an encrypted key is refused (its password is taken to be empty) instead of prompting on a
/// terminal that a server does not have.
static inline int emp_ssl_ctx_configure(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)"");
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

static inline int emp_is_ip_address(const char *host) {
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
    if (ip == NULL) return 0;
    ASN1_OCTET_STRING_free(ip);
    return 1;
}

/// SNI for a host name (never for an IP address, which SNI may not carry).
static inline int emp_ssl_set_server_name(SSL *ssl, const char *host) {
    if (emp_is_ip_address(host)) return 1;
    return (int)SSL_set_tlsext_host_name(ssl, host);
}

/// The name the server's certificate must carry: an IP address (checked against its IP SANs) or
/// a host name (its DNS SANs).
static inline int emp_ssl_expect_host(SSL *ssl, const char *host) {
    if (emp_is_ip_address(host)) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    return SSL_set1_host(ssl, host);
}
#endif
