"""Fault script: rules that make matching requests misbehave.

A rule matches on method, host and a path regex (and optionally a query
regex). It is applied `count` times (0 = every time) after letting `skip`
matching requests pass. Every application is counted on the rule and logged,
so a test can assert that the fault happened.

Kinds:
  status        answer `status` (429, 500, 503, ...) with the error shape of
                the host; 429 carries Retry-After and x-ms-ratelimit headers
  drop          let the request be processed, then cut the connection
                halfway through the response
  delay         wait `seconds`, then answer normally
  expired_token answer 401 as an expired bearer token is answered
  lro_failed    the long-running operation the request starts ends Failed
  unhealthy     an online deployment that Succeeded turns bad: `error_share`
                (0-1) of its scoring requests answer `status` (default 503),
                each one waits `latency_ms` first; matched on `endpoint` and
                `deployment` (not on method/host/path), forever unless
                `count` says otherwise
"""
import random
import re
import threading
import time

KINDS = ("status", "drop", "delay", "expired_token", "lro_failed", "unhealthy")


class FaultError(ValueError):
    pass


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._rules = []
        self._log = []
        self._next_id = 1

    def reset(self):
        with self._lock:
            self._rules = []
            self._log = []

    def reset_rules(self):
        """Removes the rules but keeps the log of faults applied."""
        with self._lock:
            self._rules = []

    def add(self, spec):
        if not isinstance(spec, dict):
            raise FaultError("a fault is a JSON object")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise FaultError("kind must be one of %s" % ", ".join(KINDS))
        rule = {
            "kind": kind,
            "method": (spec.get("method") or "*").upper(),
            "host": (spec.get("host") or "*").lower(),
            "path": spec.get("path") or "",
            "query": spec.get("query") or "",
            "count": int(spec.get("count", 1)),
            "skip": int(spec.get("skip", 0)),
            "status": int(spec.get("status", 503 if kind == "status" else 0)),
            "retry_after": spec.get("retry_after", 1 if kind == "status" else None),
            "seconds": float(spec.get("seconds", 2.0 if kind == "delay" else 0)),
            "code": spec.get("code"),
            "message": spec.get("message"),
            "matched": 0,
            "applied": 0,
        }
        for key in ("path", "query"):
            try:
                re.compile(rule[key])
            except re.error as exc:
                raise FaultError("bad %s regex: %s" % (key, exc))
        if kind == "status" and not 400 <= rule["status"] <= 599:
            raise FaultError("status must be 4xx or 5xx")
        if kind == "unhealthy":
            _unhealthy_rule(rule, spec)
        with self._lock:
            rule["id"] = self._next_id
            self._next_id += 1
            self._rules.append(rule)
        return dict(rule)

    def remove(self, rule_id):
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r["id"] != rule_id]
            return len(self._rules) != before

    def rules(self):
        with self._lock:
            return [dict(r) for r in self._rules]

    def log(self):
        with self._lock:
            return list(self._log)

    def match(self, method, host, path, query):
        """The rules to apply to this request (at most one of each kind), counted as applied."""
        hits = []
        with self._lock:
            kinds_seen = set()
            for rule in self._rules:
                if rule["kind"] in kinds_seen or rule["kind"] == "unhealthy":
                    continue
                if rule["method"] not in ("*", method):
                    continue
                if not _host_matches(rule["host"], host):
                    continue
                if rule["path"] and not re.search(rule["path"], path):
                    continue
                if rule["query"] and not re.search(rule["query"], query or ""):
                    continue
                if not _take(rule):
                    continue
                rule["applied"] += 1
                kinds_seen.add(rule["kind"])
                hits.append(dict(rule))
                self._log.append({"id": rule["id"], "kind": rule["kind"], "method": method, "host": host,
                                  "path": path, "time": time.time()})
                del self._log[:-1000]
        return hits

    def unhealthy(self, endpoint, deployment):
        """The `unhealthy` rule for a scoring request to endpoint/deployment, or
        None: {"status", "latency_ms", "failing"} where failing says whether
        this request is one of the error_share that fail."""
        with self._lock:
            for rule in self._rules:
                if rule["kind"] != "unhealthy" or rule["endpoint"] != endpoint.lower() or rule["deployment"] != deployment:
                    continue
                if not _take(rule):
                    continue
                failing = random.random() < rule["error_share"]
                if not failing and rule["latency_ms"] <= 0:
                    return None
                rule["applied"] += 1
                self._log.append({"id": rule["id"], "kind": "unhealthy", "endpoint": endpoint, "deployment": deployment,
                                  "status": rule["status"] if failing else None, "time": time.time()})
                del self._log[:-1000]
                return {"status": rule["status"], "latency_ms": rule["latency_ms"], "failing": failing}
        return None


def _take(rule):
    """Counts a request the rule matches; True when it is to be applied
    (the rule's `count` is not used up and its `skip` requests have passed)."""
    if rule["count"] > 0 and rule["applied"] >= rule["count"]:
        return False
    rule["matched"] += 1
    return rule["matched"] > rule["skip"]


def _unhealthy_rule(rule, spec):
    if not spec.get("endpoint") or not spec.get("deployment"):
        raise FaultError("an unhealthy fault names its endpoint and deployment")
    rule["endpoint"] = str(spec["endpoint"]).lower()
    rule["deployment"] = str(spec["deployment"])
    rule["count"] = int(spec.get("count", 0))
    rule["status"] = int(spec.get("status", 503))
    try:
        rule["latency_ms"] = float(spec.get("latency_ms", 0))
        rule["error_share"] = float(spec.get("error_share", 0 if "latency_ms" in spec else 1))
    except (TypeError, ValueError):
        raise FaultError("error_share and latency_ms are numbers")
    if not 0 <= rule["error_share"] <= 1:
        raise FaultError("error_share is between 0 and 1")
    if not 400 <= rule["status"] <= 599 or rule["latency_ms"] < 0:
        raise FaultError("status must be 4xx or 5xx and latency_ms not negative")


def _host_matches(pattern, host):
    if pattern in ("*", ""):
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return pattern == host
