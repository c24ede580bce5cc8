#ifndef EMPORIUM_CHIREDIS_SHIM_H
#define EMPORIUM_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>

/// `redisReader.errstr` is a fixed char array, which Swift imports as a tuple.
static inline const char *emp_redis_reader_errstr(const redisReader *r) { return r->errstr; }
#endif
