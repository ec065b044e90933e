"""Regenerates docs/img/rule-chart.svg with the real binary (docs/charts.md):
    TOCSIN_BIN=build/src/cli/tocsin python3 docs/img/rule-chart.py docs/img/rule-chart.svg
A server with one sigma rule gets three hours of a latency series (one sample per 30 s, seeded
noise, a 6-minute jump of +60 ms half an hour before now); the rule's chart of the last two hours
is written to the file given. Prints the rule's firing spans."""
import math
import os
import random
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
from harness import Tocsin, free_port, write_config  # noqa: E402

tmp = tempfile.mkdtemp(prefix="tocsin-rule-chart-")
port = free_port()
path = write_config(tmp, port, "http://127.0.0.1:9", extra_rules="""\
  - name: LatencyBaseline
    select: 'http_latency_ms{service="api"}'
    detector: {kind: sigma, n: 3, window: 30m}
    for: 1m
    severity: warning
""")
server = Tocsin(path, port)
server.start()
try:
    rnd = random.Random(7)
    now = int(time.time() * 1000) // 60000 * 60000
    t0 = now - 3 * 3600_000
    samples = []
    for i in range(360):
        v = 120 + 10 * math.sin(i / 40) + rnd.gauss(0, 3)
        if 300 <= i < 312:
            v += 60
        samples.append({"name": "http_latency_ms", "labels": {"service": "api", "instance": "h1"},
                        "value": round(v, 2), "ts": t0 + i * 30_000})
    assert server.push(samples).status == 200
    q = urllib.parse.urlencode({"start": str(now - 2 * 3600_000), "end": str(now)})
    r = server.get(f"/api/v1/rules/LatencyBaseline/chart.svg?{q}")
    assert r.status == 200, r
    with open(sys.argv[1], "w") as f:
        f.write(r.text)
    print(server.get(f"/api/v1/rules/LatencyBaseline/series?{q}").json["series"][0]["firing_spans"])
finally:
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)
