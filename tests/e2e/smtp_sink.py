"""A local SMTP server for the e2e tests: accepts every message and saves it in a directory.

Usage: python3 smtp_sink.py --port PORT --dir DIR
Needs aiosmtpd (Debian: python3-aiosmtpd). Prints "ready" on stdout once it accepts connections
and runs until SIGTERM or SIGINT. For each message N (from 1) it writes N.json (the envelope:
mail_from, rcpt_tos) and then N.eml (the message as received), each atomically (temp file +
rename), so a reader that sees N.eml sees the whole message.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Saver:
    def __init__(self, directory: str):
        self.directory = directory
        self.numbers = itertools.count(1)
        self.lock = threading.Lock()

    def _write(self, name: str, data: bytes) -> None:
        tmp = os.path.join(self.directory, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.directory, name))

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        with self.lock:
            n = next(self.numbers)
        envelope_info = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)}
        self._write(f"{n}.json", json.dumps(envelope_info).encode())
        self._write(f"{n}.eml", envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    controller = Controller(Saver(args.dir), hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    try:
        stop.wait()
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
