"""Builds tests/data/bookinfo-sample.csv: three hours of Bookinfo telemetry at 30 s.

The load is the real NASA-HTTP 1995 trace (requests per minute, ../shared/data/traces),
scaled to requests per second at productpage and spread through Bookinfo's calls
(productpage -> details, reviews; reviews -> ratings, two of three reviews versions call it).
Replicas follow a 60 %-utilisation rule, latency an M/M/1-like curve of utilisation.
A few problems are planted on purpose so that `holoscale inspect` has something to find:
two missing rows, a duplicate row, an off-grid timestamp, a NaN and a negative value.

Run from the repository root: python3 tests/data/make_bookinfo_sample.py
"""
import csv
import math
import random
from datetime import datetime, timedelta, timezone

random.seed(7)
rows = [int(line.split(",")[1]) for line in open("../shared/data/traces/nasa-http-1995-per-minute.csv")]
minutes = rows[600:780]  # three hours starting mid-morning of the trace
start = datetime(2024, 1, 1, tzinfo=timezone.utc)
services = {  # name: (share of productpage rate, capacity per replica rps, cpu per request, mem base)
    "details": (1.0, 40.0, 0.004, 60e6),
    "productpage": (1.0, 25.0, 0.008, 120e6),
    "ratings": (2.0 / 3.0, 60.0, 0.002, 40e6),
    "reviews": (1.0, 30.0, 0.006, 200e6),
}
out = []
for step in range(2 * len(minutes)):
    m = step // 2
    nxt = minutes[min(m + 1, len(minutes) - 1)]
    per_min = minutes[m] if step % 2 == 0 else 0.5 * (minutes[m] + nxt)
    front = per_min / 60.0 * 40.0 * random.uniform(0.95, 1.05)
    ts = start + timedelta(seconds=30 * step)
    for name, (share, cap, cpu_per, mem) in services.items():
        rate = front * share
        replicas = max(1, math.ceil(rate / (0.6 * cap)))
        util = rate / (replicas * cap)
        latency = 8.0 / max(0.05, 1.0 - util) * random.uniform(0.97, 1.03)
        out.append({
            "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "service": name,
            "replicas": replicas,
            "cpu_cores": round(rate * cpu_per, 5),
            "cpu_util": round(rate * cpu_per / (replicas * 0.5), 5),
            "mem_bytes": round(replicas * mem * (1 + 0.2 * util)),
            "mem_util": round(mem * (1 + 0.2 * util) / 512e6, 5),
            "req_rate": round(rate, 4),
            "latency_ms": round(latency, 3),
            "latency_p95_ms": round(latency * 2.996, 3),
            "cpu_limit_cores": 0.5,
            "errors_rate": round(rate * 0.002 * random.random(), 5),
        })
# Planted problems.
def find(step, name):
    ts = (start + timedelta(seconds=30 * step)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return next(i for i, r in enumerate(out) if r["timestamp"] == ts and r["service"] == name)
del out[find(100, "ratings")]
del out[find(101, "ratings")]
out.insert(find(200, "details") + 1, dict(out[find(200, "details")]))
r = out[find(250, "reviews")]
r["timestamp"] = r["timestamp"].replace(":00Z", ":07Z").replace(":30Z", ":37Z")
out[find(300, "productpage")]["latency_ms"] = "NaN"
out[find(310, "details")]["errors_rate"] = -0.5
with open("tests/data/bookinfo-sample.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(out[0].keys()))
    w.writeheader()
    w.writerows(out)
