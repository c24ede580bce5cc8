#ifndef EMPORIUM_CRABBITMQ_SHIM_H
#define EMPORIUM_CRABBITMQ_SHIM_H
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#include <string.h>

/// Method ids are macros with casts, which Swift does not import.
static const uint32_t EMP_AMQP_BASIC_DELIVER = AMQP_BASIC_DELIVER_METHOD;
static const uint32_t EMP_AMQP_BASIC_ACK = AMQP_BASIC_ACK_METHOD;
static const uint32_t EMP_AMQP_BASIC_NACK = AMQP_BASIC_NACK_METHOD;
static const uint32_t EMP_AMQP_BASIC_RETURN = AMQP_BASIC_RETURN_METHOD;
static const uint32_t EMP_AMQP_BASIC_CANCEL = AMQP_BASIC_CANCEL_METHOD;
static const uint32_t EMP_AMQP_CHANNEL_CLOSE = AMQP_CHANNEL_CLOSE_METHOD;
static const uint32_t EMP_AMQP_CONNECTION_CLOSE = AMQP_CONNECTION_CLOSE_METHOD;

/// amqp_login is variadic: PLAIN authentication with a user and a password.
static inline amqp_rpc_reply_t emp_amqp_login(amqp_connection_state_t state, const char *vhost, int heartbeat,
                                              const char *user, const char *password) {
    return amqp_login(state, vhost, 0, 131072, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}

static inline amqp_bytes_t emp_amqp_bytes(const void *bytes, size_t len) {
    amqp_bytes_t result;
    result.len = len;
    result.bytes = (void *)bytes;
    return result;
}

/// Table entries (message headers, queue arguments): the value is a tagged union.
static inline void emp_amqp_entry_string(amqp_table_entry_t *entry, const char *key, const void *value, size_t len) {
    entry->key = amqp_cstring_bytes(key);
    entry->value.kind = AMQP_FIELD_KIND_UTF8;
    entry->value.value.bytes = emp_amqp_bytes(value, len);
}
static inline void emp_amqp_entry_i64(amqp_table_entry_t *entry, const char *key, int64_t value) {
    entry->key = amqp_cstring_bytes(key);
    entry->value.kind = AMQP_FIELD_KIND_I64;
    entry->value.value.i64 = value;
}
static inline void emp_amqp_entry_bool(amqp_table_entry_t *entry, const char *key, int value) {
    entry->key = amqp_cstring_bytes(key);
    entry->value.kind = AMQP_FIELD_KIND_BOOLEAN;
    entry->value.value.boolean = value;
}

/// Reads a table entry's value as text or integer; returns 0 for other kinds.
static inline int emp_amqp_entry_text(const amqp_table_entry_t *entry, amqp_bytes_t *out) {
    if (entry->value.kind == AMQP_FIELD_KIND_UTF8 || entry->value.kind == AMQP_FIELD_KIND_BYTES) { *out = entry->value.value.bytes; return 1; }
    return 0;
}
static inline int emp_amqp_entry_integer(const amqp_table_entry_t *entry, int64_t *out) {
    switch (entry->value.kind) {
    case AMQP_FIELD_KIND_I8: *out = entry->value.value.i8; return 1;
    case AMQP_FIELD_KIND_U8: *out = entry->value.value.u8; return 1;
    case AMQP_FIELD_KIND_I16: *out = entry->value.value.i16; return 1;
    case AMQP_FIELD_KIND_U16: *out = entry->value.value.u16; return 1;
    case AMQP_FIELD_KIND_I32: *out = entry->value.value.i32; return 1;
    case AMQP_FIELD_KIND_U32: *out = entry->value.value.u32; return 1;
    case AMQP_FIELD_KIND_I64: *out = entry->value.value.i64; return 1;
    case AMQP_FIELD_KIND_U64: case AMQP_FIELD_KIND_TIMESTAMP: *out = (int64_t)entry->value.value.u64; return 1;
    default: return 0;
    }
}

/// The first entry of an `x-death` array (RabbitMQ keeps the most recent death first): its
/// `queue` and `reason`; returns 0 when the entry is not such an array of tables.
static inline int emp_amqp_entry_last_death(const amqp_table_entry_t *entry, amqp_bytes_t *queue, amqp_bytes_t *reason) {
    if (entry->value.kind != AMQP_FIELD_KIND_ARRAY || entry->value.value.array.num_entries < 1) return 0;
    const amqp_field_value_t *first = &entry->value.value.array.entries[0];
    if (first->kind != AMQP_FIELD_KIND_TABLE) return 0;
    int found = 0;
    for (int index = 0; index < first->value.table.num_entries; index++) {
        const amqp_table_entry_t *field = &first->value.table.entries[index];
        if (field->key.len == 5 && memcmp(field->key.bytes, "queue", 5) == 0 && emp_amqp_entry_text(field, queue)) found |= 1;
        if (field->key.len == 6 && memcmp(field->key.bytes, "reason", 6) == 0 && emp_amqp_entry_text(field, reason)) found |= 2;
    }
    return found == 3;
}

#endif
