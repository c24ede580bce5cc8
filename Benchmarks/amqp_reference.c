/* The reference for `make bench`: plain rabbitmq-c doing what our AMQP wrapper is measured on.
 *   amqp_reference publish HOST PORT USER PASS QUEUE COUNT SIZE BATCH   publish with confirms, BATCH at a time
 *   amqp_reference consume HOST PORT USER PASS QUEUE COUNT PREFETCH     consume and ack each message
 * Prints {"value": messages per second}. The queue must exist. */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "amqp_reference: %s\n", what);
    exit(1);
}

static void check(amqp_rpc_reply_t reply, const char *what) {
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) die(what);
}

int main(int argc, char **argv) {
    if (argc != 9) die("usage: publish|consume HOST PORT USER PASS QUEUE COUNT SIZE|PREFETCH [BATCH]");
    const char *mode = argv[1], *host = argv[2], *user = argv[4], *pass = argv[5], *queue = argv[6];
    int port = atoi(argv[3]);
    long count = atol(argv[7]);
    int third = atoi(argv[8]);

    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *socket = amqp_tcp_socket_new(conn);
    if (amqp_socket_open(socket, host, port) != AMQP_STATUS_OK) die("connect");
    check(amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, user, pass), "login");
    amqp_channel_open(conn, 1);
    check(amqp_get_rpc_reply(conn), "channel.open");

    double started = now(), finished;
    if (strcmp(mode, "publish") == 0) {
        int batch = atoi(getenv("BATCH") ? getenv("BATCH") : "1000");
        char *body = malloc(third);
        memset(body, 'x', third);
        amqp_confirm_select(conn, 1);
        check(amqp_get_rpc_reply(conn), "confirm.select");
        amqp_basic_properties_t props;
        props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
        props.delivery_mode = 2;
        uint64_t tag = 0, confirmed = 0;
        started = now();
        for (long sent = 0; sent < count;) {
            for (int i = 0; i < batch && sent < count; i++, sent++) {
                if (amqp_basic_publish(conn, 1, amqp_cstring_bytes(""), amqp_cstring_bytes(queue), 1, 0, &props,
                                       (amqp_bytes_t){.len = (size_t)third, .bytes = body}) != AMQP_STATUS_OK) die("publish");
                tag++;
            }
            while (confirmed < tag) {
                amqp_frame_t frame;
                if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK) die("wait for confirms");
                if (frame.frame_type != AMQP_FRAME_METHOD) continue;
                if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
                    amqp_basic_ack_t *ack = frame.payload.method.decoded;
                    confirmed = ack->multiple ? ack->delivery_tag : confirmed + 1;
                } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
                    die("nack");
                }
            }
            amqp_maybe_release_buffers(conn);
        }
        finished = now();
    } else {
        amqp_basic_qos(conn, 1, 0, third, 0);
        check(amqp_get_rpc_reply(conn), "basic.qos");
        amqp_basic_consume(conn, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
        check(amqp_get_rpc_reply(conn), "basic.consume");
        started = now();
        for (long received = 0; received < count; received++) {
            amqp_envelope_t envelope;
            amqp_maybe_release_buffers(conn);
            check(amqp_consume_message(conn, &envelope, NULL, 0), "consume");
            if (amqp_basic_ack(conn, 1, envelope.delivery_tag, 0) != AMQP_STATUS_OK) die("ack");
            amqp_destroy_envelope(&envelope);
        }
        finished = now();
        amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    }
    printf("{\"value\": %.1f}\n", count / (finished - started));
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    return 0;
}
