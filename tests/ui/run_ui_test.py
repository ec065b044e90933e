#!/usr/bin/env python3
"""Browser test of the web UI (docs/ui.md#browser-tests), run by ctest as e2e_ui.

Starts the real `tocsin serve` on a simulated clock with the end-to-end tests' config
(tests/e2e/harness.py: free port, temp dir, webhook receiver; the plan gets an approval-gated
step), then runs ui_test.mjs: Debian's Chromium, headless, driven by playwright-core, walks
through the UI as a responder would. Screenshots go to $TOCSIN_UI_ARTIFACTS (ctest sets
build/ui-artifacts). Exit code: the browser test's. The server log is printed when it fails.

Needs: node (18+), tests/ui/node_modules (`npm ci` in tests/ui; scripts/setup does it) and
/usr/bin/chromium (or $CHROMIUM). Nothing is downloaded.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

from harness import Tocsin, WebhookReceiver, free_port, write_config  # noqa: E402

START = "2026-03-02T08:00:00Z"  # a Monday: bob is on call (weekly rotation from 2026-01-05)
FAILOVER_STEP = """\
  - id: failover
    title: Switch traffic to the backup server
    owner: operations
    due: 20m
    action: {type: webhook, url: "{receiver}/failover", approve: true, timeout: 5s}
"""


# --login: the sign-in test (login_test.mjs) against a server with auth on; tokens from env vars.
AUTH = """\
auth:
  tokens:
    - {name: ui-viewer, role: viewer, token_env: TOCSIN_UI_VIEWER_TOKEN}
    - {name: ui-responder, role: responder, token_env: TOCSIN_UI_RESPONDER_TOKEN}
"""


def main() -> int:
    login = "--login" in sys.argv[1:]
    node = shutil.which("node")
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    missing = []
    if node is None:
        missing.append("node (Debian: nodejs)")
    if not os.path.exists(chromium):
        missing.append(f"{chromium} (Debian: chromium)")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        missing.append("tests/ui/node_modules/playwright-core (run `npm ci` in tests/ui, or scripts/setup)")
    if missing:
        print("e2e_ui: missing " + "; ".join(missing), file=sys.stderr)
        return 1
    artifacts = os.environ.get("TOCSIN_UI_ARTIFACTS") or os.path.join(HERE, "..", "..", "build", "ui-artifacts")
    os.makedirs(artifacts, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tocsin-ui-")
    receiver = WebhookReceiver()
    server = None
    code = 1
    try:
        port = free_port()
        config = write_config(tmp, port, receiver.url, extra_steps=FAILOVER_STEP)
        env = dict(os.environ, TOCSIN_UI_ARTIFACTS=artifacts, CHROMIUM=chromium,
                   TOCSIN_UI_PROFILE=os.path.join(tmp, "chromium-profile"))
        serve_args = ["--simulated-clock", START]
        if login:
            with open(config, "a") as f:
                f.write(AUTH)
            viewer, responder = secrets.token_hex(16), secrets.token_hex(16)
            # The server reads them from its environment (it inherits ours); the test gets them too.
            os.environ.update(TOCSIN_UI_VIEWER_TOKEN=viewer, TOCSIN_UI_RESPONDER_TOKEN=responder)
            env.update(TOCSIN_VIEWER_TOKEN=viewer, TOCSIN_RESPONDER_TOKEN=responder)
            serve_args = []  # real time: the rule's `for` passes by itself, no clock route needed
        server = Tocsin(config, port, serve_args=serve_args)
        server.start()
        env["TOCSIN_URL"] = server.base
        script = "login_test.mjs" if login else "ui_test.mjs"
        code = subprocess.run([node, os.path.join(HERE, script)], env=env, cwd=HERE, timeout=240).returncode
        if code != 0:
            sys.stderr.write(f"\n--- tocsin server log ---\n{server.log_tail()}\n")
    finally:
        if server is not None and server.alive():
            rc = server.stop()
            if rc != 0:
                print(f"e2e_ui: tocsin exited with {rc} on SIGTERM", file=sys.stderr)
                code = code or 1
        receiver.close()
        if os.environ.get("TOCSIN_E2E_KEEP"):
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"e2e_ui: screenshots in {os.path.abspath(artifacts)}")
    return code


if __name__ == "__main__":
    sys.exit(main())
