"""Fault injection for the local AWS: throttling, server errors, dropped connections and
added latency, by probability per service and operation, decided from a seed so that a
failing run can be replayed. Also a freeze: after the Nth mutating call has been applied,
hold its response until released, so a test can kill the client at that exact point.

Configure with POST /_provision/faults and a JSON body (or PROVISION_FAULTS at start):

  {"seed": 7, "rate": 0.1, "kinds": ["throttle", "500", "503", "drop"],
   "services": ["ecs", "ec2"], "actions": ["CreateService"], "latency_ms": 20,
   "freeze_after_mutations": 3, "rate_limits": true, "round_trip_ms": 50}

`latency_ms` is slept before the request is served; `round_trip_ms` instead holds each
answer until that long after its request came, the emulator's serving time included. The
first models a network in front of a server that answers one request at a time (moto);
the second an endpoint that answers concurrent requests in parallel, as AWS's do, so that
a burst of 20 reads costs one round trip and not one plus moto's queue.

Signatures expire as AWS's do: a request whose `X-Amz-Date` is more than
`signature_max_age_s` (default 300, AWS's 5 minutes) from now, either way, is refused as
AWS refuses it, and counted in `expired`.

`rate_limits` enforces AWS's request rates per API family, as token buckets with AWS's
burst and refill (the same table as provision's src/aws/limits.rs): a request beyond them
is throttled as AWS throttles it, and counted in `throttled`.

All keys are optional. `rate` is the probability that an eligible request fails; a request
is eligible when its service is in `services` and its action in `actions` (either left out
means all). Faults strike before the request reaches the emulator, so nothing is applied.
GET /_provision/faults shows the settings and what was injected; POST /_provision/faults/release
lets a frozen response go; POST /_provision/faults with {} turns everything off.
"""

import calendar
import hashlib
import json
import threading
import time
import uuid

KINDS = ("throttle", "500", "503", "drop")


def family(service, action):
    """(family, burst, per second) of a request, as AWS limits it; None when unlimited."""
    read = action.startswith(("Describe", "List", "Get"))
    if service == "ecs":
        if action == "RegisterTaskDefinition":
            return ("ecs:RegisterTaskDefinition", 20, 1)
        if action in ("CreateService", "UpdateService"):
            return ("ecs:CreateService/UpdateService", 50, 5)
        return ("ecs:read", 100, 20) if read else ("ecs:write", 50, 5)
    if service == "ec2":
        return ("ec2:non-mutating", 100, 20) if read else ("ec2:mutating", 200, 5)
    if service == "logs":
        if action in ("CreateLogGroup", "DeleteLogGroup", "PutRetentionPolicy", "DeleteRetentionPolicy"):
            return ("logs:write", 5, 5)
        return ("logs:read", 10, 10)
    if service == "iam":
        return ("iam:read", 20, 10) if read else ("iam:write", 10, 5)
    if service in ("sts", "s3", "ssm", "moto", "unknown"):
        return None
    return (f"{service}:read", 20, 10) if read else (f"{service}:write", 20, 10)

# Services that speak AWS's query protocol answer errors in XML; EC2 has a variant of its own.
QUERY = {"iam", "sts", "rds", "autoscaling", "elasticloadbalancing", "sns", "sqs", "cloudformation"}


def is_mutating(action):
    return not action.startswith(("Describe", "List", "Get"))


class Faults:
    def __init__(self, settings=None):
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.configure(settings or {})

    def configure(self, settings):
        with self.lock:
            self.settings = dict(settings)
            self.counters = {}
            self.injected = []
            self.mutations = 0
            self.frozen = False
            self.released.clear()
            self.buckets = {}  # family -> [tokens, last refill]
            self.throttled = 0
            self.expired = 0

    def status(self):
        with self.lock:
            return {
                "settings": self.settings,
                "injected": list(self.injected),
                "mutations": self.mutations,
                "frozen": self.frozen,
                "throttled": self.throttled,
                "expired": self.expired,
            }

    def release(self):
        self.released.set()

    def _draw(self, service, action):
        """A number in [0, 1) fixed by the seed and the call's place among its kind."""
        key = f"{service}:{action}"
        n = self.counters.get(key, 0)
        self.counters[key] = n + 1
        seed = self.settings.get("seed", 0)
        digest = hashlib.sha256(f"{seed}/{key}/{n}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64, digest[8]

    def before(self, service, action):
        """The fault to inject for this request, or None. Adds the latency."""
        s = self.settings
        if not s:
            return None
        # With `round_trip_ms`, a fifth of it is the request's way there: a burst of
        # concurrent requests is all received (and timed) before moto, holding the GIL,
        # serves the first; the rest is made up after serving (`hold_answer`).
        latency = s.get("latency_ms", 0) or s.get("round_trip_ms", 0) / 5
        if latency:
            time.sleep(latency / 1000)
        if s.get("rate_limits") and self._over_limit(service, action):
            return "throttle"
        services, actions = s.get("services"), s.get("actions")
        if (services and service not in services) or (actions and action not in actions):
            return None
        with self.lock:
            draw, pick = self._draw(service, action)
            if draw >= s.get("rate", 0):
                return None
            kinds = s.get("kinds") or list(KINDS)
            kind = kinds[pick % len(kinds)]
            self.injected.append({"service": service, "action": action, "fault": kind})
            return kind

    def hold_answer(self, came):
        """With `round_trip_ms`: holds the answer until that long after its request came
        (epoch seconds), the emulator's own serving included, as from an endpoint that serves
        requests concurrently (moto serves one at a time; AWS does not queue them)."""
        wait = came + self.settings.get("round_trip_ms", 0) / 1000 - time.time()
        if wait > 0:
            time.sleep(wait)

    def _over_limit(self, service, action):
        fam = family(service, action)
        if fam is None:
            return False
        name, burst, per_second = fam
        now = time.monotonic()
        with self.lock:
            tokens, at = self.buckets.get(name, (burst, now))
            tokens = min(burst, tokens + (now - at) * per_second)
            if tokens < 1:
                self.buckets[name] = (tokens, now)
                self.throttled += 1
                self.injected.append({"service": service, "action": action, "fault": "rate-limit"})
                return True
            self.buckets[name] = (tokens - 1, now)
            return False

    def signature_refusal(self, service, amz_date):
        """(code, message, status) if the request's signature has expired, else None."""
        if not amz_date:
            return None
        try:
            signed = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            return None
        max_age = self.settings.get("signature_max_age_s", 300)
        now = time.time()
        if abs(now - signed) <= max_age:
            return None
        with self.lock:
            self.expired += 1
        if service == "ec2":
            return ("RequestExpired", "Request has expired.", 400)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - max_age))
        message = f"Signature expired: {amz_date} is now earlier than {stamp}."
        if signed > now:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now + max_age))
            message = f"Signature not yet current: {amz_date} is still later than {stamp}."
        if service in QUERY:
            return ("SignatureDoesNotMatch", message, 403)
        return ("InvalidSignatureException", message, 400)

    def after(self, action):
        """Called once the emulator applied a request: counts mutations, maybe freezes."""
        if not is_mutating(action):
            return
        with self.lock:
            self.mutations += 1
            freeze = self.settings.get("freeze_after_mutations")
            hit = freeze is not None and self.mutations == freeze
            if hit:
                self.frozen = True
        if hit:
            self.released.wait(timeout=120)


def error_response(service, kind):
    """(status, headers, body) of an AWS error in the service's own protocol."""
    if kind == "throttle":
        code, status, message = {
            "ec2": ("RequestLimitExceeded", 503, "Request limit exceeded."),
        }.get(service, ("Throttling" if service in QUERY else "ThrottlingException", 400, "Rate exceeded"))
    elif kind == "503":
        code, status, message = "ServiceUnavailable", 503, "Service is unavailable. Please try again."
    else:
        code, status, message = "InternalFailure", 500, "An internal error occurred. Please try again."
    return aws_error(service, code, message, status)


def aws_error(service, code, message, status=400):
    request_id = str(uuid.uuid4())
    if service == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
            f"<Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
        ctype = "text/xml"
    elif service in QUERY:
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        ctype = "text/xml"
    else:
        body = json.dumps({"__type": code, "message": message})
        ctype = "application/x-amz-json-1.1"
    data = body.encode()
    headers = [
        ("Content-Type", ctype),
        ("Content-Length", str(len(data))),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", code),
    ]
    return status, headers, data
