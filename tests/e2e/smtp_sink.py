"""A local SMTP server for the e2e tests: accepts every message and saves it in a directory.

Usage: python3 smtp_sink.py --port PORT --dir DIR [--hang]
Needs aiosmtpd (Debian: python3-aiosmtpd), except with --hang: then it accepts connections and
never says a word (no greeting), an SMTP server that hangs; it writes N.conn (the time it
accepted) and N.closed (when the client gave up and closed) for each connection N. Prints "ready" on stdout once it accepts connections
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

import socket
import time


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


def hang(port: int, directory: str, stop: threading.Event) -> None:
    listener = socket.create_server(("127.0.0.1", port), backlog=64)
    listener.settimeout(0.2)
    numbers = itertools.count(1)

    def stamp(name: str) -> None:  # atomically, like the mails
        tmp = os.path.join(directory, f".{name}.tmp")
        with open(tmp, "w") as f:
            f.write(repr(time.time()))
        os.rename(tmp, os.path.join(directory, name))

    def hold(conn: socket.socket, n: int) -> None:
        stamp(f"{n}.conn")
        with conn:
            try:
                while conn.recv(4096):  # silent: read whatever comes until the client closes
                    pass
            except OSError:
                pass
        stamp(f"{n}.closed")

    print("ready", flush=True)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        threading.Thread(target=hold, args=(conn, next(numbers)), daemon=True).start()
    listener.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--hang", action="store_true", help="accept connections and never answer")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.hang:
        hang(args.port, args.dir, stop)
        return 0
    from aiosmtpd.controller import Controller  # only here: --hang needs no aiosmtpd
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
