"""SMTP catcher for local runs and tests.

Accepts every message on the given address and keeps it in a directory: `<id>.eml` holds the
message as received, `<id>.json` its envelope (sender, recipients, time). Tests read that folder.
Recipients in the `--reject-domain` domain (default `rejected.example`) are refused with 550, as
a real server refuses an unknown mailbox: the permanent failure the mail worker must not retry.
"""
import argparse
import asyncio
import json
import os
import time
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class KeepEverything:
    def __init__(self, directory: str, reject_domain: str) -> None:
        self.directory = directory
        self.reject_domain = reject_domain.lower()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().endswith("@" + self.reject_domain):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message_id = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        base = os.path.join(self.directory, message_id)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        meta = {
            "id": message_id,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        # Renamed last, so a reader never sees half a message.
        os.rename(base + ".eml.tmp", base + ".eml")
        os.rename(base + ".json.tmp", base + ".json")
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--directory", required=True)
    parser.add_argument("--reject-domain", default="rejected.example")
    parser.add_argument("--auth", help="USER:PASSWORD: require SMTP authentication (over plain text; tests only)")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    options = {}
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = getattr(auth_data, "login", b"") == user.encode() and getattr(auth_data, "password", b"") == password.encode()
            return AuthResult(success=ok, handled=False)

        options = {"auth_required": True, "auth_require_tls": False, "authenticator": authenticate}
    controller = Controller(
        KeepEverything(args.directory, args.reject_domain), hostname=args.host, port=args.port, **options)
    controller.start()
    print(f"smtp catcher on {args.host}:{args.port}, keeping mail in {args.directory}", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
