"""The project's local AWS: moto's server behind one lock, with a request log.

moto is not thread-safe (concurrent requests can answer HTTP 500), and provision is a
concurrent client, so every request is served one at a time here instead of being retried.
The request log lets tests check which AWS operations a command really made:

  GET  /_provision/requests        -> {"requests": [{"service": "ecs", "action": "CreateService",
                                       "t0": arrival, "t1": answer (epoch seconds),
                                       "batch": the longest list a JSON request names}, ...]}
  POST /_provision/requests/clear  -> empties the log
  POST /moto-api/reset             -> moto's own reset (forgets every resource), also clears the log
  GET/POST /_provision/faults      -> fault injection (see faults.py)

AWS's rules that moto does not enforce are checked first (see strict.py).
"""

import io
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import traceback
from urllib.parse import parse_qs

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import patches  # noqa: E402
import strict  # noqa: E402
from delays import Delays  # noqa: E402
import elb  # noqa: E402
from tasks import Tasks  # noqa: E402
from faults import Faults, aws_error, error_response  # noqa: E402

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


class Serialized:
    def __init__(self, app, faults):
        self.app = app
        self.lock = threading.Lock()
        self.log = []
        self.faults = faults
        self.tasks = Tasks()
        self.delays = Delays()
        self.tasks.init_refusal = self.delays.secret_refusal
        self.elb = elb.Elb()
        self._local = threading.local()

    def __call__(self, environ, start_response):
        # When each request came and was answered (latency included): what the benchmark
        # counts sequential round trips from.
        self._local.entry = None
        answer = self._serve(environ, start_response)
        entry = self._local.entry
        if entry is not None:
            self.faults.hold_answer(entry["t0"])
            entry["t1"] = time.time()
        return answer

    def _serve(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_provision/requests":
            return self._json(start_response, {"requests": list(self.log)})
        if path == "/_provision/requests/clear":
            self.log.clear()
            return self._json(start_response, {"cleared": True})
        if path == "/_provision/health":
            return self._json(start_response, {"ok": True})

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if path == "/_provision/faults":
            if environ.get("REQUEST_METHOD") == "POST":
                self.faults.configure(json.loads(body or b"{}"))
            return self._json(start_response, self.faults.status())
        if path == "/_provision/delays":
            settings = json.loads(body or b"{}") if environ.get("REQUEST_METHOD") == "POST" else {}
            return self._json(start_response, self.delays.configure(settings))
        if path == "/_provision/elb":
            settings = json.loads(body or b"{}") if environ.get("REQUEST_METHOD") == "POST" else {}
            return self._json(start_response, self.elb.configure(settings))
        if path == "/_provision/tasks":
            settings = json.loads(body or b"{}") if environ.get("REQUEST_METHOD") == "POST" else {}
            return self._json(start_response, self.tasks.configure(settings))
        if path == "/_provision/strict/break":
            strict.BROKEN.clear()
            strict.BROKEN.update(json.loads(body or b"{}").get("actions", []))
            return self._json(start_response, {"broken": sorted(strict.BROKEN)})
        if path == "/_provision/faults/release":
            self.faults.release()
            return self._json(start_response, self.faults.status())
        if path == "/moto-api/reset":
            self.log.clear()
            strict.BROKEN.clear()
            service, action = "moto", "reset"
        else:
            service, action = self._record(environ, body)
            expired = self.faults.signature_refusal(service, environ.get("HTTP_X_AMZ_DATE"))
            if expired:
                code, message, status = expired
                status, headers, data = aws_error(service, code, message, status)
                start_response(f"{status} Error", headers)
                return [data]
            fault = self.faults.before(service, action)
            if fault == "drop":
                sock = environ.get("werkzeug.socket")
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
                    return []
                fault = "500"
            if fault:
                status, headers, data = error_response(service, fault)
                start_response(f"{status} Error", headers)
                return [data]
            p = strict.params(body, environ.get("CONTENT_TYPE"))
            region = self._region(environ)
            with self.lock:
                refusal = (
                    self._guard("tasks.tick", self.tasks.tick, region)
                    or self._guard("elb.tick", self.elb.tick)
                    or self._guard(f"strict rule for {action}", strict.check, service, action, p, region)
                    or self._guard("delays.check", self.delays.check, service, action, p, region)
                )
            if isinstance(refusal, _Broken):
                return refusal.respond(service, start_response)
            if refusal:
                code, message, status = refusal
                status, headers, data = aws_error(service, code, message, status)
                start_response(f"{status} Error", headers)
                return [data]
        answer = {}

        def capture(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return lambda data: None

        with self.lock:
            # Consume the response inside the lock: moto builds it lazily.
            data = b"".join(self.app(environ, capture))
            if answer["status"].startswith("200"):
                data = self._guard("the task simulator and delays", self._after, service, action, environ, body, data)
        if isinstance(data, _Broken):
            return data.respond(service, start_response)
        headers = [(k, v) for k, v in answer["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(data))))
        start_response(answer["status"], headers)
        if service != "moto":
            self.faults.after(action)
        return [data]

    def _after(self, service, action, environ, body, data):
        if service == "ecs":
            data = self.tasks.rewrite(action, self._region(environ), body, data)
        if service == "elasticloadbalancing":
            p = strict.params(body, environ.get("CONTENT_TYPE"))
            data = self.elb.after(action, self._region(environ), p, data)
        self.delays.record(service, action, strict.params(body, environ.get("CONTENT_TYPE")))
        return self.delays.rewrite(service, action, data)

    @staticmethod
    def _guard(name, fn, *args):
        """Runs one of the emulator's own hooks. One that raises fails closed: the request
        is answered HTTP 500 naming it (traceback in the log), never let through unchecked."""
        try:
            return fn(*args)
        except Exception:  # noqa: BLE001 - any breakage must be loud, whatever it is
            traceback.print_exc()
            print(f"provision emulator: {name} failed; answering HTTP 500", file=sys.stderr, flush=True)
            return _Broken(name)

    def _record(self, environ, body):
        scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope.group(1) if scope else "unknown"
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            action = target.rsplit(".", 1)[-1]
        else:
            form = parse_qs(body.decode("utf-8", "replace"))
            query = parse_qs(environ.get("QUERY_STRING", ""))
            action = (form.get("Action") or query.get("Action") or [environ.get("REQUEST_METHOD", "?")])[0]
        # When the request reached the socket (see `_arrival`), else when it is read here.
        entry = {"service": service, "action": action, "t0": environ.get("provision.arrival") or time.time()}
        if target:
            # How many things a call names at once (the services of one DescribeServices).
            try:
                params = json.loads(body or b"{}")
                entry["batch"] = max((len(v) for v in params.values() if isinstance(v, list)), default=0)
            except (ValueError, AttributeError):
                pass
        self.log.append(entry)
        self._local.entry = entry
        return service, action

    @staticmethod
    def _region(environ):
        scope = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        return scope.group(1) if scope else "us-east-1"

    @staticmethod
    def _json(start_response, payload):
        data = json.dumps(payload).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


class _Broken:
    """A hook of the emulator that raised: its request fails with the hook's name."""

    def __init__(self, name):
        self.name = name

    def respond(self, service, start_response):
        message = f"provision emulator: {self.name} raised an exception (traceback in the emulator log)"
        status, headers, data = aws_error(service, "EmulatorRuleFailed", message, 500)
        start_response(f"{status} Error", headers)
        return [data]


# Linux's SO_TIMESTAMPNS: the kernel stamps each received packet with the time it came.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_STAMPS = None


def _stamp(ancillary):
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack("qq", data[:16])
            return sec + nsec / 1e9
    return None


def _arrival(handler):
    """When the next request's first bytes reached the socket (epoch seconds), by the
    kernel's stamp: this server accepts connections and starts their threads one at a
    time, so a burst of 20 new connections, sent by the client within half a millisecond,
    is read over 3-7 ms. The round-trip model times each answer from this arrival, as an
    endpoint serving requests in parallel would. None when there is no stamp to be had:
    the request already read into the handler's buffer (sent behind another without
    waiting for its answer), or a platform without stamps."""
    if sys.platform != "linux":
        return None
    conn, space = handler.connection, socket.CMSG_SPACE(16)
    try:
        # On the socket now: its stamp, the bytes left where they are.
        _, ancillary, _, _ = conn.recvmsg(1, space, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        return _stamp(ancillary)
    except BlockingIOError:
        pass
    except OSError:
        return None
    # Nothing on the socket: a request may be in the handler's buffer already. Looking
    # there must not wait, so the socket is made non-blocking for that look.
    timeout = conn.gettimeout()
    try:
        conn.setblocking(False)
        buffered = handler.rfile.peek(1)
    except (OSError, ValueError):
        return None
    finally:
        conn.settimeout(timeout)
    if buffered:
        return None
    try:
        # The client is between two requests: wait for the next one as the handler would.
        _, ancillary, _, _ = conn.recvmsg(1, space, socket.MSG_PEEK)
    except OSError:
        return None
    return _stamp(ancillary)


class KeepAlive(WSGIRequestHandler):
    """Keeps the connection open between requests, as AWS's endpoints do, so a client does
    not pay a new connection (and the emulator a new thread) per request. werkzeug's own
    `run_wsgi` closes every connection, and drains the socket after each answer (waiting
    10 ms for more), because it cannot know the application read the whole body.
    `Serialized` reads every body whole, by its Content-Length; a request whose body
    length is not known up front (chunked) still closes its connection after the answer."""

    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out as two writes: without this, Nagle's algorithm holds the
        # body until the client's delayed ACK of the headers, 40 ms on Linux.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if sys.platform == "linux":
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            except OSError:
                pass

    def handle_one_request(self):
        self.arrival = _arrival(self)
        super().handle_one_request()

    def make_environ(self):
        environ = super().make_environ()
        environ["provision.arrival"] = getattr(self, "arrival", None)
        return environ

    def run_wsgi(self):
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.make_environ()
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return lambda data: None

        try:
            data = b"".join(self.server.app(environ, start_response))
        except Exception:  # noqa: BLE001 - answered as werkzeug would: 500, then close
            traceback.print_exc()
            answer = {"status": "500 Internal Server Error", "headers": []}
            data, self.close_connection = b"", True
        if "status" not in answer:
            # The application dropped the connection on purpose (the `drop` fault).
            self.close_connection = True
            return
        code, _, reason = answer["status"].partition(" ")
        self.send_response(int(code), reason)
        # A HEAD answer keeps the length of what a GET would send (S3's HeadObject), and has
        # no body; so do 204 and 304.
        bodiless = self.command == "HEAD" or code in ("204", "304")
        for key, value in answer["headers"]:
            lower = key.lower()
            if lower in ("connection", "transfer-encoding") or (lower == "content-length" and not bodiless):
                continue
            self.send_header(key, value)
        if not bodiless:
            self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not bodiless:
            self.wfile.write(data)
        self.wfile.flush()


def _exit_with_owner(owner_pid):
    # Tests start the emulator for themselves; it must not outlive them.
    while True:
        time.sleep(1)
        try:
            os.kill(owner_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass


def main():
    host = os.environ.get("PROVISION_LOCAL_HOST", "127.0.0.1")
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PROVISION_LOCAL_PORT", "4566"))
    os.environ.setdefault("MOTO_PORT", str(port))
    owner = os.environ.get("PROVISION_EMULATOR_OWNER_PID")
    if owner:
        threading.Thread(target=_exit_with_owner, args=(int(owner),), daemon=True).start()
    # Threads waiting on the GIL get it every 0.5 ms instead of 5: a request that comes while
    # moto serves another is read and timed when it comes, not up to 5 ms later per request.
    sys.setswitchinterval(0.0005)
    patches.apply()
    elb.apply()
    faults = Faults(json.loads(os.environ.get("PROVISION_FAULTS") or "{}"))
    app = Serialized(DomainDispatcherApplication(create_backend_app), faults)
    # The kernel stamps received packets only while some socket asks for stamps: this one
    # asks for the whole run, so a connection's first request is stamped too (its socket
    # asks only once accepted, after that request came).
    global _STAMPS
    _STAMPS = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if sys.platform == "linux":
        try:
            _STAMPS.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            pass
    run_simple(host, port, app, threaded=True, request_handler=KeepAlive)


if __name__ == "__main__":
    main()
