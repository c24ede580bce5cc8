#ifndef EMPORIUM_CLIBPQ_SHIM_H
#define EMPORIUM_CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>
#include <poll.h>
#include <errno.h>

/// Waits until the connection's socket is readable (and writable, if asked) or the timeout passes.
/// Returns poll(2)'s result: >0 ready, 0 timed out, <0 error (errno set).
static inline int emp_pq_wait(int fd, int forWrite, int timeoutMs) {
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN | (forWrite ? POLLOUT : 0);
    p.revents = 0;
    return poll(&p, 1, timeoutMs);
}

#endif
