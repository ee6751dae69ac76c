#!/usr/bin/env python3
"""Benchmark: how long `up`, a no-op `plan` and `down` take, how much CPU `provision` itself
spends, which AWS calls it makes, and how many round trips it pays one after another.

Runs against the local emulator with every request taking a fixed round trip (AWS's
latency). Sequential round trips = the time during which at least one request was in
flight, divided by that latency. React ms = provision's own time between an answer and
the request sent next (median): the in-flight time also holds the emulator's serving.

Two models of the latency (--model):
  round-trip (default)  each answer leaves 50 ms after its request came, the emulator's
                        serving included: an endpoint that serves concurrent requests in
                        parallel, as AWS's do.
  added                 50 ms is slept before each request is served, then moto serves
                        requests one at a time: a burst of 20 concurrent reads also pays
                        moto's queue (1-5 ms a request), which AWS would not charge.
The chain column (requests answered one after another) is the same in both.

    python3 bench/speed.py [--latency-ms 50] [--model round-trip|added] [--debug]
                           [--stacks seed,large] [--repeat N] [--repeat-large N] [--calls] [--timeline]

Stacks: `seed`, the seed-style stack with a VPC of its own (VPC, 2 public subnets, internet
gateway, route table, security group, execution role, log group, cluster, task definition,
Fargate service); `large`, a generated stack of about 900 resources (300 security groups,
200 Fargate services with their task definitions and log groups); `medium`, the same at a
tenth of the size (about 90), to see how the cost grows. Uses the release build unless
--debug is given. The seed and medium stacks run 5 times (--repeat), the large one once
(--repeat-large); each line is the run with the median CPU time, and the last lines say how
the CPU grows from the medium stack to the large one.
"""

import argparse
import bisect
import collections
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SEED = """stack: bench-seed
network:
  vpc: { cidr: 10.0.0.0/16, public_subnets: 2 }
security_groups:
  web:
    ingress:
      - { port: 80, cidr: 0.0.0.0/0 }
services:
  httpd:
    cpu: 256
    memory: 512
    public_ip: true
    security_groups: [web]
    containers:
      httpd: { image: httpd, ports: [80] }
"""


def generated(name, groups, services):
    lines = [f"stack: bench-{name}", "network:", "  vpc: { cidr: 10.0.0.0/16, public_subnets: 2 }", "security_groups:"]
    for i in range(groups):
        lines += [f"  g{i}:", "    ingress:", f"      - {{ port: {1000 + i}, cidr: 10.0.0.0/8 }}"]
    lines.append("services:")
    for i in range(services):
        lines += [
            f"  s{i}:",
            "    cpu: 256",
            "    memory: 512",
            "    desired_count: 0",
            f"    security_groups: [g{i}]",
            "    containers:",
            f"      app: {{ image: httpd, ports: [{2000 + i}] }}",
        ]
    return "\n".join(lines) + "\n"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(port, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=body)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")


def in_flight_seconds(requests):
    """The union of the requests' [t0, t1] intervals."""
    spans = sorted((r["t0"], r["t1"]) for r in requests if "t1" in r)
    total, start, end = 0.0, None, None
    for a, b in spans:
        if start is None or a > end:
            if start is not None:
                total += end - start
            start, end = a, b
        else:
            end = max(end, b)
    if start is not None:
        total += end - start
    return total


def longest_chain(requests):
    """The most requests that ran one after another (each sent after the previous one's
    answer): the round trips on the critical path, without the emulator's own serving time
    (it serves one request at a time, so a burst of concurrent requests stretches the
    in-flight time though none waited on another)."""
    spans = sorted((r["t0"], r["t1"]) for r in requests if "t1" in r)
    chain = []
    for i, (t0, _) in enumerate(spans):
        before = [chain[j] for j in range(i) if spans[j][1] <= t0]
        chain.append(1 + max(before, default=0))
    return max(chain, default=0)


def reaction_ms(requests):
    """provision's own time between an answer and the request that follows it: for each
    request sent after some answer, the time since the last answer before it (median, ms).
    The in-flight measure also holds the emulator's serving time; this is provision's part."""
    ends = sorted(r["t1"] for r in requests if "t1" in r)
    gaps = []
    for r in requests:
        i = bisect.bisect_right(ends, r["t0"])
        if i:
            gaps.append((r["t0"] - ends[i - 1]) * 1000)
    return round(statistics.median(gaps), 2) if gaps else 0.0


def run(binary, port, workdir, args, latency, flags=("--local",), env=None):
    """One command against the emulator on `port` (`flags` say how to reach it; `env` adds
    to the environment)."""
    http(port, "POST", "/_provision/requests/clear")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    out = subprocess.run(
        [binary, *flags, "--no-color", *args],
        cwd=workdir,
        env={**os.environ, "PROVISION_LOCAL_PORT": str(port), **(env or {})},
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode not in (0, 2):
        sys.exit(f"provision {' '.join(args)} failed:\n{out.stdout}{out.stderr}")
    requests = [r for r in http(port, "GET", "/_provision/requests")["requests"] if r["service"] != "moto"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    calls = collections.Counter(f"{r['service']}:{r['action']}" for r in requests)
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "requests": len(requests),
        "sequential_round_trips": round(in_flight_seconds(requests) / (latency / 1000.0), 1),
        "chain": longest_chain(requests),
        "react_ms": reaction_ms(requests),
        "calls": dict(sorted(calls.items(), key=lambda kv: (-kv[1], kv[0]))),
        "timeline": sorted((r["t0"], r.get("t1", r["t0"]), f"{r['service']}:{r['action']}") for r in requests),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--model", choices=["round-trip", "added"], default="round-trip",
                    help="how the latency is applied (see above)")
    ap.add_argument("--debug", action="store_true", help="use the debug build")
    ap.add_argument("--stacks", default="seed,medium,large")
    ap.add_argument("--calls", action="store_true", help="print the calls by operation")
    ap.add_argument("--repeat", type=int, default=5,
                    help="run the seed and medium stacks this many times and report the run with the "
                         "median CPU time (a run of 0.05 s of CPU varies by 10-30%% from one to the next)")
    ap.add_argument("--repeat-large", type=int, default=1,
                    help="the same for the large stack (one run is over 4 minutes; its CPU varies by about 5%%)")
    ap.add_argument("--timeline", action="store_true",
                    help="print every request with when it started and ended (ms from the first)")
    a = ap.parse_args()

    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/provision/target"))
    profile = [] if a.debug else ["--release"]
    subprocess.run(["cargo", "build", "--quiet", *profile], cwd=ROOT, check=True,
                   env={**os.environ, "CARGO_TARGET_DIR": target})
    binary = os.path.join(target, "debug" if a.debug else "release", "provision")

    port = free_port()
    env = {**os.environ, "PROVISION_LOCAL_PORT": str(port), "PROVISION_EMULATOR_OWNER_PID": str(os.getpid())}
    subprocess.run(["bash", os.path.join(ROOT, "localstack/start")], env=env, check=True)
    try:
        key = "round_trip_ms" if a.model == "round-trip" else "latency_ms"
        http(port, "POST", "/_provision/faults", json.dumps({key: a.latency_ms}).encode())
        print(f"{'stack':<8} {'command':<10} {'wall s':>8} {'cpu s':>7} {'requests':>9} {'sequential RTs':>15} {'chain':>6} {'react ms':>9}"
              f"   ({a.latency_ms} ms per request, {a.model} model, {'debug' if a.debug else 'release'} build)")
        # moto imports each service's backend on first use (over a second in all): one
        # unmeasured run of the seed stack keeps that out of the figures.
        with tempfile.TemporaryDirectory() as work:
            with open(os.path.join(work, "stack.yaml"), "w") as f:
                f.write(SEED.replace("bench-seed", "bench-warmup"))
            for args in (["up", "--yes", "--no-wait"], ["down", "--yes"]):
                run(binary, port, work, args, a.latency_ms)
        medians = {}
        for name in a.stacks.split(","):
            yaml = {
                "seed": lambda: SEED,
                "medium": lambda: generated("medium", 30, 20),
                "large": lambda: generated("large", 300, 200),
            }[name]()
            runs = {"up": [], "plan": [], "down": []}
            for _ in range(a.repeat_large if name == "large" else a.repeat):
                with tempfile.TemporaryDirectory() as work:
                    with open(os.path.join(work, "stack.yaml"), "w") as f:
                        f.write(yaml)
                    for label, args in [
                        ("up", ["up", "--yes", "--no-wait"]),
                        ("plan", ["plan", "--detailed-exitcode"]),
                        ("down", ["down", "--yes"]),
                    ]:
                        runs[label].append(run(binary, port, work, args, a.latency_ms))
            for label, rs in runs.items():
                # The run with the median CPU time: one run's CPU varies by several percent.
                r = sorted(rs, key=lambda x: x["cpu_s"])[len(rs) // 2]
                medians[(name, label)] = (r, [x["cpu_s"] for x in rs])
                print(f"{name:<8} {label:<10} {r['wall_s']:>8} {r['cpu_s']:>7} {r['requests']:>9} "
                      f"{r['sequential_round_trips']:>15} {r['chain']:>6} {r['react_ms']:>9}")
                if a.calls:
                    for op, n in r["calls"].items():
                        print(f"{'':<20}{n:>5}  {op}")
                if a.timeline and r["timeline"]:
                    start = r["timeline"][0][0]
                    for t0, t1, op in r["timeline"]:
                        print(f"{'':<20}{(t0 - start) * 1000:>7.0f} {(t1 - start) * 1000:>7.0f}  {op}")
        growth(medians)
    finally:
        subprocess.run(["bash", os.path.join(ROOT, "localstack/stop")], env=env)


def growth(medians):
    """How the CPU grows with the stack: the large stack's median run against the medium
    stack's (ten times the resources; the goal is at most ten times the CPU). Medians,
    because one medium run's CPU is too short to measure alone: its spread is printed."""
    lines = []
    for label in ("up", "down"):
        if ("medium", label) not in medians or ("large", label) not in medians:
            continue
        (m, mcpu), (l, lcpu) = medians[("medium", label)], medians[("large", label)]
        if not m["cpu_s"]:
            continue
        spread = lambda xs: f"{min(xs):.3f}-{max(xs):.3f} s ({len(xs)} runs)" if len(xs) > 1 else f"{xs[0]:.3f} s (1 run)"
        lines.append(f"  {label:<5} {l['cpu_s'] / m['cpu_s']:.1f}x CPU ({l['cpu_s']:.3f} s / {m['cpu_s']:.3f} s)"
                     f" for {l['requests'] / max(m['requests'], 1):.1f}x the requests"
                     f" ({l['cpu_s'] / max(l['requests'], 1) * 1000:.2f} / {m['cpu_s'] / max(m['requests'], 1) * 1000:.2f} ms a request)")
        lines.append(f"        medium {spread(mcpu)}, large {spread(lcpu)}")
    if lines:
        print("cost growth, large / medium (median runs; goal: at most 10x):")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
