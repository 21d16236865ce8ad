"""The small request/response model every in-process service speaks.

The proxy parses the HTTP request off the TLS socket into a Request (the body
read whole: only blob traffic is large, and that is streamed to Azurite
without ever becoming a Request). A service returns a Response.
"""
import json
import time
import uuid
import email.utils
from urllib.parse import parse_qs, urlsplit


class Request:
    def __init__(self, method, host, target, headers, body=b"", client=None):
        self.method = method.upper()
        self.host = host.lower()
        parts = urlsplit(target)
        self.path = parts.path or "/"
        self.raw_query = parts.query
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers          # email.message.Message: case-insensitive get()
        self.body = body
        self.client = client
        self.faults = []                # fault rules of kind lro_failed matched by this request
        self._json = None

    def q(self, name, default=None):
        """First value of a query parameter, matched case-insensitively as ARM does."""
        if name in self.query:
            return self.query[name][0]
        low = name.lower()
        for k, v in self.query.items():
            if k.lower() == low:
                return v[0]
        return default

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def bearer(self):
        auth = self.headers.get("Authorization") or ""
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return None

    def json(self):
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        if self._json is None:
            if not self.body:
                raise ValueError("The request body is empty.")
            self._json = json.loads(self.body.decode("utf-8"))
        return self._json

    def url(self):
        return "https://%s%s%s" % (self.host, self.path, "?" + self.raw_query if self.raw_query else "")

    def wants_lro_failure(self):
        return any(f.get("kind") == "lro_failed" for f in self.faults)


class Response:
    def __init__(self, status, body=b"", headers=None, content_type=None):
        self.status = status
        self.headers = list(headers or [])
        if isinstance(body, str):
            body = body.encode()
        self.body = body
        if content_type:
            self.headers.append(("Content-Type", content_type))

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def set_header(self, name, value):
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))


def json_response(status, obj, headers=None, content_type="application/json; charset=utf-8"):
    body = b"" if obj is None else json.dumps(obj).encode()
    return Response(status, body, headers, content_type if obj is not None else None)


def new_guid():
    return str(uuid.uuid4())


def iso_now(ts=None):
    """ISO 8601 UTC with 7 fractional digits, as ARM prints timestamps."""
    ts = time.time() if ts is None else ts
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + (".%07dZ" % int((ts % 1) * 1e7))


def iso_duration(seconds):
    """An ISO 8601 duration as ARM prints one: PT22.8356799S, PT1M3.5S, PT1H0M2S."""
    seconds = max(0.0, float(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = ("%.7f" % secs).rstrip("0").rstrip(".")
    out = "PT"
    if hours:
        out += "%dH" % hours
    if hours or minutes:
        out += "%dM" % minutes
    return out + text + "S"


def rfc1123(ts=None):
    return email.utils.formatdate(ts, usegmt=True)


def arm_error(status, code, message, details=None, target=None, inner=None, headers=None, extra=None):
    err = {"code": code, "message": message}
    if target:
        err["target"] = target
    if details is not None:
        err["details"] = details
    if inner is not None:
        err["innerError"] = inner
    if extra:
        err.update(extra)
    return json_response(status, {"error": err}, headers)


def ml_user_error(status, message, inner_code, code="UserError"):
    """Azure ML's error envelope: UserError with a nested innerError and its extras."""
    return json_response(status, {"error": {
        "code": code,
        "severity": None,
        "message": message,
        "messageFormat": None,
        "messageParameters": None,
        "referenceCode": None,
        "detailsUri": None,
        "target": None,
        "details": [],
        "innerError": {"code": inner_code, "innerError": None},
        "debugInfo": None,
        "additionalInfo": None,
    }, "correlation": {"operation": uuid.uuid4().hex, "request": uuid.uuid4().hex[:16]},
        "environment": "eastus", "location": "eastus", "time": iso_now(), "componentName": "managementfrontend"})
