#ifndef EMPORIUM_CLIBPQ_SHIM_H
#define EMPORIUM_CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <dlfcn.h>

/// Bytes OpenSSL has decrypted for this connection that libpq has not read yet. They never make
/// the socket readable again, so an event loop must look here before waiting on it (libpq's own
/// blocking wait does the same). OpenSSL's SSL_pending is looked up at run time: libpq brings
/// libssl into the process, but we do not link it.
static inline int emp_pq_ssl_pending(PGconn *conn) {
    void *ssl = PQsslStruct(conn, "OpenSSL");
    if (!ssl) return 0;
    static int (*pending)(const void *) = 0;
    if (!pending) pending = (int (*)(const void *))dlsym(RTLD_DEFAULT, "SSL_pending");
    return pending ? pending(ssl) : 0;
}

// The event loop's epoll calls, kept in C because `struct epoll_event` is packed on x86-64.

static inline int emp_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int emp_eventfd_create(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

static inline void emp_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t written = write(fd, &one, sizeof one);
    (void)written;
}

static inline void emp_eventfd_drain(int fd) {
    uint64_t value;
    ssize_t read_bytes = read(fd, &value, sizeof value);
    (void)read_bytes;
}

/// Adds `fd` (`add` != 0) or changes what it reports, level-triggered (data already waiting
/// reports at once): `interest` 1 readable (or closed), 2 writable as well, 0 nothing (hang-ups
/// and errors, which epoll reports whatever is asked, at most once: one-shot).
static inline int emp_epoll_watch(int epfd, int fd, int add, int interest) {
    struct epoll_event event;
    event.events = interest == 0 ? EPOLLONESHOT : (EPOLLIN | EPOLLRDHUP | (interest > 1 ? EPOLLOUT : 0));
    event.data.u64 = 0;
    event.data.fd = fd;
    return epoll_ctl(epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event);
}

static inline int emp_epoll_remove(int epfd, int fd) {
    struct epoll_event event = {0};
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &event);
}

/// Waits for events and writes the ready descriptors to `fds`; returns their number (<0 on error).
static inline int emp_epoll_wait(int epfd, int *fds, int capacity, int timeoutMs) {
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    int count = epoll_wait(epfd, events, capacity, timeoutMs);
    for (int i = 0; i < count; i++) fds[i] = events[i].data.fd;
    return count;
}

#endif
