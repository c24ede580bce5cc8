#!/usr/bin/env bash
# Replays a RabbitMQ dead-letter queue to its origin with a dynamic shovel: it moves exactly the
# messages there now ("src-delete-after": "queue-length"), keeps their properties and headers, and
# publishes them to the origin queue's name on the work exchange. The consumer sees the old
# failure headers and starts the message over with a full set of attempts; its message id is
# unchanged, so the inbox drops what was already handled.
# `emporium replay send --queue DLQ` does the same with filters, a rate limit and an audit log.
#
#   deploy/tools/replay-with-shovel.sh emporium.mail.dlq emporium.mail
#
# RABBITMQCTL defaults to the local node's (deploy/local/services.sh rabbitmqctl); in a cluster,
# run plain rabbitmqctl on a node. AMQP_URL (with credentials) is where the shovel connects.
set -euo pipefail
dlq="$1" origin="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rabbitmqctl=(${RABBITMQCTL:-bash "$here/../local/services.sh" rabbitmqctl})
uri="${AMQP_URL:-amqp://emporium:emporium@127.0.0.1:5672}"
exchange="${MESSAGING_WORK_EXCHANGE:-emporium.work}"
"${rabbitmqctl[@]}" set_parameter shovel "replay-$dlq" "$(printf '{"src-protocol": "amqp091", "src-uri": "%s", "src-queue": "%s", "src-delete-after": "queue-length", "dest-protocol": "amqp091", "dest-uri": "%s", "dest-exchange": "%s", "dest-exchange-key": "%s"}' "$uri" "$dlq" "$uri" "$exchange" "$origin")"
