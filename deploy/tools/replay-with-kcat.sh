#!/usr/bin/env bash
# Replays a Kafka dead-letter topic to its origin with the stock tools (kcat and jq): each message
# goes back with its key, value and envelope headers (the same message-id, so consumers' inboxes
# drop what was already handled); the runtime's x-* failure headers stay behind.
# `emporium replay send --topic DLQ` does the same with filters, a rate limit and an audit log.
#
#   deploy/tools/replay-with-kcat.sh order.dlq order        (KAFKA_BOOTSTRAP_SERVERS must be set)
set -euo pipefail
dlq="$1" origin="$2"
kcat -C -b "$KAFKA_BOOTSTRAP_SERVERS" -t "$dlq" -o beginning -e -q -J |
    while IFS= read -r message; do
        headers=()
        while IFS= read -r header; do
            [[ -n "$header" ]] && headers+=(-H "$header")
        done < <(jq -r '(.headers // []) as $h | range(0; $h | length; 2)
                        | select($h[.] | startswith("x-") | not) | "\($h[.])=\($h[. + 1])"' <<<"$message")
        jq -j '.payload' <<<"$message" |
            kcat -P -b "$KAFKA_BOOTSTRAP_SERVERS" -t "$origin" -k "$(jq -r '.key' <<<"$message")" "${headers[@]}"
    done
