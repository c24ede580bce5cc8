#ifndef EMPORIUM_CRDKAFKA_SHIM_H
#define EMPORIUM_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/// Produces one message through rd_kafka_produceva (rd_kafka_producev is variadic and the
/// rd_kafka_vu_t union is awkward from Swift). On success librdkafka owns `headers`; on failure
/// they are destroyed here. Returns NULL on success.
///
/// The value is not copied (no RD_KAFKA_MSG_F_COPY): librdkafka reads it from `value` until the
/// message's delivery report, so the caller keeps that memory alive and unchanged until then. The
/// key is copied by librdkafka in any case.
static inline rd_kafka_error_t *emp_kafka_produce(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const char *topic,
                                                  const void *key, size_t key_len,
                                                  const void *value, size_t value_len,
                                                  rd_kafka_headers_t *headers, void *opaque) {
    rd_kafka_vu_t vus[6];
    size_t count = 0;
    /* A cached topic handle saves a lookup by name per message. */
    if (rkt) { vus[count].vtype = RD_KAFKA_VTYPE_RKT; vus[count].u.rkt = rkt; count++; }
    else { vus[count].vtype = RD_KAFKA_VTYPE_TOPIC; vus[count].u.cstr = topic; count++; }
    if (key) { vus[count].vtype = RD_KAFKA_VTYPE_KEY; vus[count].u.mem.ptr = (void *)key; vus[count].u.mem.size = key_len; count++; }
    vus[count].vtype = RD_KAFKA_VTYPE_VALUE; vus[count].u.mem.ptr = (void *)value; vus[count].u.mem.size = value_len; count++;
    vus[count].vtype = RD_KAFKA_VTYPE_MSGFLAGS; vus[count].u.i = 0; count++;
    vus[count].vtype = RD_KAFKA_VTYPE_OPAQUE; vus[count].u.ptr = opaque; count++;
    if (headers) { vus[count].vtype = RD_KAFKA_VTYPE_HEADERS; vus[count].u.headers = headers; count++; }
    rd_kafka_error_t *error = rd_kafka_produceva(rk, vus, count);
    if (error && headers) rd_kafka_headers_destroy(headers);
    return error;
}
#endif
