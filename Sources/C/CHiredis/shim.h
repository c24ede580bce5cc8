#ifndef EMPORIUM_CHIREDIS_SHIM_H
#define EMPORIUM_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>

/// `redisContext.errstr` is a fixed char array, which Swift imports as a tuple.
static inline const char *emp_redis_errstr(const redisContext *c) { return c->errstr; }
static inline int emp_redis_err(const redisContext *c) { return c->err; }
static inline int emp_redis_fd(const redisContext *c) { return c->fd; }
#endif
