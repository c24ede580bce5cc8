#!/usr/bin/env bash
# `make demo`: a customer's walk through the running fleet (`make run`): sign-up, the
# verification code read from the mail the SMTP catcher received, login, an order, payment, and
# completion at expiry. After each step it prints what the brokers carried for that step (the
# outbox rows with the step's correlation id: events, commands and delayed messages).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${EMPORIUM_STATE_DIR:-$ROOT/.local}"
API="${EMPORIUM_API:-http://127.0.0.1:8080}"
eval "$(bash "$ROOT/deploy/local/services.sh" env)"
RUN="demo-$(date +%s)"
EMAIL="$RUN@example.com"
PASSWORD="demo password 123"

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
note() { printf '  %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

command -v jq >/dev/null || die "jq is missing (make run installs it)"
curl -fsS "$API/health/ready" >/dev/null || die "the API at $API is not ready: start the fleet with 'make run'"

# call METHOD PATH CORRELATION [BODY] [extra curl args...]: prints the status and the body.
call() {
    local method="$1" path="$2" correlation="$3" body="${4:-}"
    shift 4 || shift $#
    local args=(-sS -o /tmp/emporium-demo.body -w '%{http_code}' -X "$method" "$API$path" -H "X-Correlation-Id: $correlation")
    [[ -n $body ]] && args+=(-H 'Content-Type: application/json' -d "$body")
    STATUS="$(curl "${args[@]}" "$@")"
    BODY="$(cat /tmp/emporium-demo.body)"
    note "$method $path -> $STATUS $(jq -c . <<<"$BODY" 2>/dev/null | cut -c1-220 || true)"
}

# carried CORRELATION: the messages of that correlation id, as the relay sent them.
carried() {
    sleep "${2:-1}"
    note "the brokers carried:"
    psql -X -q -A -t -F ' ' "$POSTGRES_ADMIN_URL" -c "
        SELECT '    ' || message_type || '  ->  ' || transport || ':' || destination
               || CASE WHEN delay_ms > 0 THEN ' (delayed ' || (delay_ms / 1000) || ' s)' ELSE '' END
               || CASE WHEN sent_at IS NULL THEN '  [not sent yet]' ELSE '' END
        FROM messaging.outbox WHERE correlation_id = '$1' ORDER BY id" | sed 's/^ *//;s/^/    /'
}

bold "1. Sign up as $EMAIL"
call POST /auth/register "$RUN-signup" "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
[[ $STATUS == 202 ]] || die "registration failed"
carried "$RUN-signup" 2

bold "2. The verification mail (from $STATE/mail)"
CODE=""
for _ in $(seq 60); do
    FILE="$(grep -l "^To: $EMAIL" "$STATE"/mail/*.eml 2>/dev/null | tail -n 1 || true)"
    if [[ -n $FILE ]]; then
        CODE="$(python3 -c 'import email, re, sys
m = email.message_from_file(open(sys.argv[1]))
print(m["Subject"], file=sys.stderr)
for part in m.walk():
    if part.get_content_type() == "text/plain":
        print(re.search(r"\b(\d{6})\b", part.get_payload(decode=True).decode()).group(1))' "$FILE" 2> >(sed 's/^/  subject: /' >&2))"
        break
    fi
    sleep 0.5
done
[[ -n $CODE ]] || die "no verification mail arrived; see $STATE/logs/worker-mail.log"
note "code: $CODE"

bold "3. Verify and log in"
call POST /auth/verify "$RUN-verify" "{\"email\":\"$EMAIL\",\"code\":\"$CODE\"}"
call POST /auth/login "$RUN-login" "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
TOKEN="$(jq -r .accessToken <<<"$BODY")"
carried "$RUN-verify"

bold "4. An admin stocks a product"
call POST /auth/login "$RUN-admin" "{\"email\":\"${AUTH_ADMIN_EMAIL:-admin@emporium.local}\",\"password\":\"${AUTH_ADMIN_PASSWORD}\"}"
ADMIN="$(jq -r .accessToken <<<"$BODY")"
SKU="DEMO-$(date +%s)"
call POST /products "$RUN-product" "{\"sku\":\"$SKU\",\"name\":\"Demo teapot\",\"priceMinor\":2450,\"currency\":\"EUR\",\"stock\":3}" \
    -H "Authorization: Bearer $ADMIN"
carried "$RUN-product"

bold "5. The customer orders two"
for _ in $(seq 30); do
    call POST /orders "$RUN-order" "{\"lines\":[{\"sku\":\"$SKU\",\"quantity\":2}]}" \
        -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: $RUN"
    [[ $STATUS == 201 ]] && break
    note "(the order side has not seen the product yet; again in a moment)"
    sleep 1
done
ORDER="$(jq -r .id <<<"$BODY")"
for _ in $(seq 30); do
    call GET "/orders/$ORDER" "$RUN-poll" "" -H "Authorization: Bearer $TOKEN" >/dev/null
    [[ "$(jq -r .stock <<<"$BODY")" != awaiting ]] && break
    sleep 0.5
done
note "stock: $(jq -r .stock <<<"$BODY")"
carried "$RUN-order"

bold "6. Payment"
call POST "/orders/$ORDER/pay" "$RUN-pay" "" -H "Authorization: Bearer $TOKEN"
carried "$RUN-pay"

bold "7. Completion at expiry (ORDER_EXPIRY_DELAY; make run's fleet uses short delays)"
for _ in $(seq 240); do
    STATUS_NOW="$(curl -fsS "$API/orders/$ORDER" -H "Authorization: Bearer $TOKEN" | jq -r .status)"
    [[ $STATUS_NOW == COMPLETED ]] && break
    sleep 1
done
note "order $ORDER: $STATUS_NOW"
carried "$RUN-order" 0

bold "Mails $EMAIL received"
grep -l "^To: $EMAIL" "$STATE"/mail/*.eml | xargs grep -h '^X-Emporium-Template' | sed 's/^/  /'
