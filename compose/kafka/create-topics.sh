#!/usr/bin/env bash
# kafka-init: waits until all three brokers answer, then creates Emporium's topics (idempotent:
# --if-not-exists, so `docker compose up` runs it again harmlessly). Topic auto-creation is off on
# the brokers, so this is the only place topics come from.
set -euo pipefail

BOOTSTRAP="kafka-1:9092,kafka-2:9092,kafka-3:9092"
BIN=/opt/kafka/bin

echo "kafka-init: waiting for 3 brokers at $BOOTSTRAP"
for attempt in $(seq 1 90); do
    brokers="$("$BIN/kafka-broker-api-versions.sh" --bootstrap-server "$BOOTSTRAP" 2>/dev/null | grep -c '(id: ' || true)"
    [[ "$brokers" -ge 3 ]] && break
    if [[ "$attempt" -eq 90 ]]; then
        echo "kafka-init: only ${brokers:-0} of 3 brokers answered; giving up" >&2
        exit 1
    fi
    sleep 2
done
echo "kafka-init: 3 brokers up"

# topic partitions (replication factor 3 everywhere; min.insync.replicas=2 is the broker default)
TOPICS=(
    "product 16"
    "product.dlq 4"
    "order 16"
    "order.dlq 4"
    "user 8"
    "user.dlq 2"
)
for entry in "${TOPICS[@]}"; do
    read -r topic partitions <<<"$entry"
    "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
        --topic "$topic" --partitions "$partitions" --replication-factor 3
done

"$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --describe --exclude-internal | grep -v 'Partition: ' || true
echo "kafka-init: topics ready"
