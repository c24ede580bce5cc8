#ifndef EMPORIUM_CLIBPQ_SHIM_H
#define EMPORIUM_CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>
#include <poll.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/// Waits until the connection's socket is readable (and writable, if asked) or the timeout passes.
/// Returns poll(2)'s result: >0 ready, 0 timed out, <0 error (errno set).
static inline int emp_pq_wait(int fd, int forWrite, int timeoutMs) {
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN | (forWrite ? POLLOUT : 0);
    p.revents = 0;
    return poll(&p, 1, timeoutMs);
}

/// Waits on a connection socket and a wake-up pipe; returns 1 when the socket is readable,
/// 2 when the pipe is, 3 when both, 0 on time-out, -1 on error.
static inline int emp_pq_wait2(int fd, int wakeFd, int timeoutMs) {
    struct pollfd p[2];
    p[0].fd = fd; p[0].events = POLLIN; p[0].revents = 0;
    p[1].fd = wakeFd; p[1].events = POLLIN; p[1].revents = 0;
    int rc = poll(p, 2, timeoutMs);
    if (rc <= 0) return rc;
    return ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0) | ((p[1].revents & POLLIN) ? 2 : 0);
}

/// A pipe whose both ends are non-blocking and close-on-exec (fcntl is variadic in C).
static inline int emp_make_wakeup_pipe(int fds[2]) {
    if (pipe(fds) != 0) return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    return 0;
}
#endif
