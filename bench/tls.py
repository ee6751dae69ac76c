#!/usr/bin/env python3
"""What talking TLS costs `provision`, as it does with real AWS: the seed stack's `up`, run
against the local emulator once over plain HTTP (`--local`) and once through a TLS proxy in
front of it (`--endpoint-url https://127.0.0.1:<port>`), alternately. Reports the CPU of
`up`, its wall time, and how far apart the first round's requests reached the emulator (a TLS
handshake per connection, on the one thread that sends requests).

    python3 bench/tls.py [--runs 6] [--latency-ms 50] [--binary PATH]

Needs the `openssl` command (for a throwaway certificate authority). The proxy is Python,
so its own handshakes add to the spread; the CPU column is `provision`'s alone.
"""

import argparse
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import speed  # noqa: E402


def certificates(d):
    """A CA, and a certificate for 127.0.0.1 it signed."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf")


def proxy(d, upstream):
    """A TLS proxy to the emulator, on a thread per connection: its port."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "srv.pem"), os.path.join(d, "srv.key"))
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(128)

    def pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve(c):
        try:
            t = ctx.wrap_socket(c, server_side=True)
        except (OSError, ssl.SSLError):
            c.close()
            return
        u = socket.create_connection(("127.0.0.1", upstream))
        u.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pipe, args=(u, t), daemon=True).start()
        pipe(t, u)

    def accept():
        while True:
            c, _ = ls.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return ls.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--binary", help="measure this build of provision instead of building the release one")
    a = ap.parse_args()
    if not shutil.which("openssl"):
        sys.exit("bench/tls.py needs the openssl command")
    binary = a.binary
    if not binary:
        target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/provision/target"))
        subprocess.run(["cargo", "build", "--quiet", "--release"], cwd=speed.ROOT, check=True,
                       env={**os.environ, "CARGO_TARGET_DIR": target})
        binary = os.path.join(target, "release", "provision")
    port = speed.free_port()
    env = {**os.environ, "PROVISION_LOCAL_PORT": str(port), "PROVISION_EMULATOR_OWNER_PID": str(os.getpid())}
    subprocess.run(["bash", os.path.join(speed.ROOT, "localstack/start")], env=env, check=True)
    try:
        speed.http(port, "POST", "/_provision/faults", ('{"round_trip_ms": %d}' % a.latency_ms).encode())
        with tempfile.TemporaryDirectory() as certs:
            certificates(certs)
            tls_port = proxy(certs, port)
            tls_env = {
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_REGION": "us-east-1",
                "SSL_CERT_FILE": os.path.join(certs, "ca.pem"),
            }
            ways = {
                "plain HTTP (--local)": ["--local"],
                "TLS (--endpoint-url https://...)": ["--endpoint-url", f"https://127.0.0.1:{tls_port}"],
            }
            got = {w: [] for w in ways}
            for i in range(a.runs + 1):
                for way, flags in (list(ways.items()) if i % 2 == 0 else list(reversed(ways.items()))):
                    with tempfile.TemporaryDirectory() as work:
                        with open(os.path.join(work, "stack.yaml"), "w") as f:
                            f.write(speed.SEED)
                        extra = tls_env if "TLS" in way else {}
                        up = speed.run(binary, port, work, ["up", "--yes", "--no-wait"], a.latency_ms,
                                       flags=flags, env=extra)
                        speed.run(binary, port, work, ["down", "--yes"], a.latency_ms, flags=flags, env=extra)
                        starts = [t0 for t0, _, _ in up["timeline"]][:20]
                        if i > 0:  # the first pair warms the emulator up
                            got[way].append((up["cpu_s"], up["wall_s"] * 1000,
                                             (max(starts) - min(starts)) * 1000,
                                             up["sequential_round_trips"]))
            print(f"seed `up`, median of {a.runs} ({a.latency_ms} ms per request, release build)")
            print(f"{'':<34} {'cpu s':>7} {'wall ms':>8} {'first round spread ms':>22} {'RTs in flight':>14}")
            for way, rs in got.items():
                cpu, wall, spread, rts = (statistics.median(r[k] for r in rs) for k in range(4))
                print(f"{way:<34} {cpu:>7.3f} {wall:>8.0f} {spread:>22.1f} {rts:>14.1f}")
    finally:
        subprocess.run(["bash", os.path.join(speed.ROOT, "localstack/stop")], env=env)


if __name__ == "__main__":
    main()
