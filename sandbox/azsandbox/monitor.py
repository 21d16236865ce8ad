"""Azure Monitor metrics of managed online endpoints, computed from the scoring
requests the sandbox served.

GET {resourceUri}/providers/Microsoft.Insights/metrics (Metrics_List,
azure-rest-api-specs monitor/.../stable/2023-10-01/metrics_API.json) for an
online endpoint or one of its deployments. Metric names, units and dimensions
are those Azure documents for the two resource types (docs/azure-contract.md
3.9). What is kept is one aggregate per grain, resource, deployment and status
code (a count, latency sum/min/max and a bounded latency sample), never every
request, and at most MAX_BUCKETS of them.

A sandbox "minute" lasts SANDBOX_METRICS_GRAIN_SECONDS seconds (default 60) so
that tests can bake a rollout for seconds: interval=PT1M means one grain,
PT5M five, and the timeStamps returned are the real starts of those grains.
"""
import math
import os
import random
import re
import threading
import time
from datetime import datetime, timezone
from urllib.parse import unquote

from .httpcore import arm_error, json_response

PROVIDER = "Microsoft.MachineLearningServices"
API_VERSIONS = ("2018-01-01", "2019-07-01", "2021-05-01", "2023-10-01", "2024-02-01")
MAX_BUCKETS = 20000          # aggregates kept, all resources together
MAX_SAMPLES = 512            # latencies kept per aggregate for percentiles
MAX_POINTS = 1440            # points per series one query may ask for (Azure's PT1M day)
DEFAULT_TOP = 10

# name -> (unit, primary aggregation, kind, dimensions, description)
# kind: "count" (requests per grain), "latency" (mean of latencies), "pNN" (percentile).
_PERCENTILES = {"RequestLatency_P%d" % p: ("Milliseconds", "Average", "p%d" % p, ("deployment",),
                "The average P%d request latency aggregated by all request latency values collected "
                "over the selected time period" % p) for p in (50, 90, 95, 99)}
ENDPOINT_METRICS = dict(_PERCENTILES, **{
    "RequestsPerMinute": ("Count", "Average", "count", ("deployment", "statusCode", "statusCodeClass", "modelStatusCode"),
                          "The number of requests sent to online endpoint within a minute"),
    "RequestLatency": ("Milliseconds", "Average", "latency", ("deployment",),
                       "The average complete interval of time taken for a request to be responded in milliseconds"),
    "ConnectionsActive": ("Count", "Average", None, (), "The total number of concurrent TCP connections active from clients."),
    "NetworkBytes": ("BytesPerSecond", "Average", None, (), "The bytes per second served for the endpoint."),
    "NewConnectionsPerSecond": ("CountPerSecond", "Average", None, (),
                                "The average number of new TCP connections per second established from clients."),
    "DataCollectionErrorsPerMinute": ("Count", "Average", None, ("deployment", "reason", "type"),
                                      "The number of data collection events dropped per minute."),
    "DataCollectionEventsPerMinute": ("Count", "Average", None, ("deployment", "type"),
                                      "The number of data collection events processed per minute."),
})
DEPLOYMENT_METRICS = {n: (u, a, k, (), d) for n, (u, a, k, _, d) in _PERCENTILES.items()}
DEPLOYMENT_METRICS.update({
    "RequestsPerMinute": ("Count", "Average", "count", ("envoy_response_code",),
                          "The number of requests sent to online deployment within a minute"),
})
for _n, _d in (("CpuUtilizationPercentage", ("instanceId",)), ("CpuMemoryUtilizationPercentage", ("instanceId",)),
               ("DiskUtilization", ("instanceId", "disk")), ("DeploymentCapacity", ("instanceId", "State")),
               ("GpuUtilizationPercentage", ("instanceId",)), ("GpuMemoryUtilizationPercentage", ("instanceId",)),
               ("GpuEnergyJoules", ("instanceId",)), ("DataCollectionErrorsPerMinute", ("instanceId", "reason", "type")),
               ("DataCollectionEventsPerMinute", ("instanceId", "type"))):
    DEPLOYMENT_METRICS[_n] = ("Percent" if "Percentage" in _n or _n == "DiskUtilization" else "Count", "Average", None, _d, _n)
AGGREGATIONS = ("average", "count", "minimum", "maximum", "total")


class BadQuery(Exception):
    pass


def grain_seconds(app=None):
    """The run-time setting metrics_grain_seconds, else the environment."""
    try:
        g = float(app.settings["metrics_grain_seconds"]) if app is not None else \
            float(os.environ.get("SANDBOX_METRICS_GRAIN_SECONDS") or 60)
    except (KeyError, ValueError):
        g = 60.0
    return g if g > 0 else 60.0


class _Agg:
    __slots__ = ("n", "sum", "min", "max", "samples")

    def __init__(self):
        self.n, self.sum, self.min, self.max, self.samples = 0, 0.0, math.inf, -math.inf, []

    def add(self, ms):
        self.n += 1
        self.sum += ms
        self.min = min(self.min, ms)
        self.max = max(self.max, ms)
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(ms)
        else:                           # reservoir sampling keeps the sample fair
            i = random.randrange(self.n)
            if i < MAX_SAMPLES:
                self.samples[i] = ms


def percentile(values, p):
    """Nearest rank, as a P90 is usually read: the smallest value >= p% of them."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(p / 100.0 * len(s)) - 1)]


def _iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def parse_time(text):
    t = text.strip().replace("z", "Z")
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    t = re.sub(r"(\.\d{1,6})\d*", lambda m: m.group(1).ljust(7, "0"), t)   # fromisoformat: 6 digits
    try:
        d = datetime.fromisoformat(t)
    except ValueError:
        raise BadQuery("Invalid timespan: '%s' is not an ISO 8601 date and time." % text)
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.timestamp()


def parse_duration(text):
    """Seconds of an ISO 8601 duration (P1D, PT1H, PT5M, PT30S), None if it is not one."""
    m = re.match(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", text.strip().upper())
    if not m or text.strip().upper() in ("P", "PT"):
        return None
    d, h, mi, s = m.groups()
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def parse_timespan(text, now):
    if not text:
        return now - 3600, now
    # The Azure CLI (az monitor metrics list) sends the timespan quoted twice
    # ("2026-12-04T18%253A52%253A24.846807%252F..."), with naive times in UTC;
    # Azure reads it all the same (found by tests/conformance/az-cli-test.sh).
    if "%" in text:
        text = unquote(text)
    parts = text.split("/")
    if len(parts) == 1:
        dur = parse_duration(parts[0])
        if dur is None:
            raise BadQuery("Invalid timespan '%s': expected 'start/end' or a duration." % text)
        return now - dur, now
    if len(parts) != 2:
        raise BadQuery("Invalid timespan '%s': expected 'start/end'." % text)
    start = parse_time(parts[0])
    dur = parse_duration(parts[1])
    end = start + dur if dur is not None else parse_time(parts[1])
    if end <= start:
        raise BadQuery("Invalid timespan '%s': the end must be after the start." % text)
    return start, end


_TOKEN = re.compile(r"\s*(?:(?P<q>'(?:[^']|'')*')|(?P<w>[A-Za-z_][A-Za-z0-9_.]*)|(?P<bad>\S))")


def parse_filter(text):
    """$filter -> {dimension(lower): set of values or None for '*'}.

    Conditions on one dimension are or-ed, on different dimensions and-ed, as
    the Metrics_List description says; 'or' between two names is refused."""
    if not text or not text.strip():
        return {}
    toks, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        if m.group("bad"):
            raise BadQuery("Invalid $filter '%s' at '%s'." % (text, m.group("bad")))
        toks.append(("q", m.group("q")[1:-1].replace("''", "'")) if m.group("q") else ("w", m.group("w")))
    out, i, prev_name, joiner = {}, 0, None, None
    while i < len(toks):
        if len(toks) - i < 3:
            raise BadQuery("Invalid $filter '%s': expected <dimension> eq '<value>'." % text)
        (k1, name), (k2, op), (k3, value) = toks[i], toks[i + 1], toks[i + 2]
        if k1 != "w" or k2 != "w" or op.lower() != "eq" or k3 != "q":
            raise BadQuery("Invalid $filter '%s': only <dimension> eq '<value>' joined by and/or is supported." % text)
        key = name.lower()
        if joiner == "or" and key != prev_name:
            raise BadQuery("Invalid $filter '%s': the logical or operator cannot separate two different metadata names." % text)
        if value == "*":
            out[key] = None
        elif key not in out or out[key] is not None:
            out.setdefault(key, set()).add(value)
        prev_name, i = key, i + 3
        if i < len(toks):
            k, word = toks[i]
            if k != "w" or word.lower() not in ("and", "or"):
                raise BadQuery("Invalid $filter '%s': expected and/or after '%s'." % (text, value))
            joiner, i = word.lower(), i + 1
            if i >= len(toks):
                raise BadQuery("Invalid $filter '%s': nothing after '%s'." % (text, joiner))
    return out


def parse_resource(segs):
    """(endpoint key, deployment or None, resource type) of a metrics path, or None."""
    low = [s.lower() for s in segs]
    if len(low) not in (10, 12) or low[2] != "resourcegroups" or low[4] != "providers" or low[5] != PROVIDER.lower() \
            or low[6] != "workspaces" or low[8] != "onlineendpoints":
        return None
    if len(low) == 10:
        return segs, None
    if low[10] != "deployments":
        return None
    return segs[:10], segs[11]


class Monitor:
    def __init__(self, app=None):
        self.app = app
        self.lock = threading.Lock()
        self.local = threading.local()
        self.reset()

    def reset(self):
        with self.lock:
            self.buckets = {}           # (endpoint id lower, deployment, status, grain start) -> _Agg

    # -- recording ------------------------------------------------------------------

    def record(self, endpoint_arm_id, deployment, status_code, latency_ms, t=None):
        """One scoring request answered: the endpoint's ARM id, the deployment
        that served it ("" when none did), its HTTP status and latency."""
        self.local.recorded = True
        t = time.time() if t is None else float(t)
        g = grain_seconds(self.app)
        start = math.floor(t / g) * g
        key = ("/" + endpoint_arm_id.strip("/").lower(), deployment or "", int(status_code), start)
        with self.lock:
            agg = self.buckets.get(key)
            if agg is None:
                if len(self.buckets) >= MAX_BUCKETS:
                    for old in sorted(self.buckets, key=lambda k: k[3])[:MAX_BUCKETS // 10]:
                        del self.buckets[old]
                agg = self.buckets[key] = _Agg()
            agg.add(max(0.0, float(latency_ms)))

    def observe_scoring(self, req, score):
        """Runs `score` and records its answer unless the scoring code already
        called record() itself (thread-local flag: one request per thread)."""
        self.local.recorded = False
        started = time.time()
        resp = score(req)
        if not self.local.recorded and self.app is not None:
            ep_id = self._endpoint_id_for_host(req.host)
            if ep_id:
                self.record(ep_id, resp.header("azureml-model-deployment") or "", resp.status,
                            (time.time() - started) * 1000.0, started)
        return resp

    def _endpoint_id_for_host(self, host):
        ml = self.app.azureml
        label = host.split(".")[0]
        with ml.lock:
            for ws in ml.workspaces.values():
                for ep in ws.endpoints.values():
                    if ep["name"].lower() == label:
                        return "%s/onlineEndpoints/%s" % (ml.ws_id(ws), ep["name"])
        return None

    def _exists(self, segs, deployment):
        if self.app is None:
            return True
        ml = self.app.azureml
        with ml.lock:
            ws = ml.workspace(segs[3], segs[7])
            ep = ws and {k.lower(): v for k, v in ws.endpoints.items()}.get(segs[9].lower())
            if not ep:
                return False
            return deployment is None or deployment.lower() in {d.lower() for d in ep["deployments"]}

    # -- the metrics API -----------------------------------------------------------------

    def handle(self, req, segs):
        """segs: the path's segments, ending in providers/Microsoft.Insights/metrics."""
        if req.method != "GET":
            return arm_error(405, "MethodNotAllowed", "The sandbox serves only GET on Microsoft.Insights/metrics.")
        api = req.q("api-version")
        if not api:
            return arm_error(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
        if api not in API_VERSIONS:
            return arm_error(400, "InvalidApiVersionParameter", "The api-version '%s' is invalid. The supported versions are '%s'."
                             % (api, ",".join(API_VERSIONS)))
        parsed = parse_resource(segs[:-3])
        if parsed is None:
            return arm_error(400, "ResourceTypeNotSupported", "The sandbox serves metrics of online endpoints and deployments only.")
        ep_segs, deployment = parsed
        if not self._exists(ep_segs, deployment):
            return arm_error(404, "ResourceNotFound", "The Resource '%s' was not found." % "/".join(segs[4:-3]))
        try:
            return json_response(200, self.query(req, "/" + "/".join(segs[:-3]), "/" + "/".join(ep_segs), deployment))
        except BadQuery as exc:
            return json_response(400, {"code": "BadRequest", "message": str(exc)})

    def query(self, req, resource_uri, endpoint_uri, deployment, now=None):
        now = time.time() if now is None else now
        defs = ENDPOINT_METRICS if deployment is None else DEPLOYMENT_METRICS
        namespace = "%s/workspaces/onlineEndpoints%s" % (PROVIDER, "" if deployment is None else "/deployments")
        ns = req.q("metricnamespace")
        if ns and ns.lower() != namespace.lower():
            raise BadQuery("Metric namespace '%s' is not valid for this resource; it is '%s'." % (ns, namespace))
        names = [n.strip() for n in (req.q("metricnames") or "").split(",") if n.strip()] or ["RequestsPerMinute"]
        canon = {k.lower(): k for k in defs}
        for n in names:
            if n.lower() not in canon:
                raise BadQuery("Failed to find metric configuration for provider: %s, resource Type: %s, metric: %s, Valid metrics: %s"
                               % (PROVIDER, namespace.split("/", 1)[1], n, ",".join(defs)))
        start, end = parse_timespan(req.q("timespan"), now)
        g = grain_seconds(self.app)
        iv_text = (req.q("interval") or "PT1M").strip().upper()
        if iv_text == "FULL":
            step = None
        else:
            dur = parse_duration(iv_text)
            if dur is None or dur < 60 or dur % 60:
                raise BadQuery("Invalid interval '%s': expected FULL or whole minutes (PT1M, PT5M, PT1H, P1D)." % iv_text)
            step = dur / 60 * g
            if (end - start) / step > MAX_POINTS:
                raise BadQuery("The timespan and interval ask for %d points per time series; at most %d are allowed."
                               % ((end - start) / step, MAX_POINTS))
        aggs = [a.strip().lower() for a in (req.q("aggregation") or "").split(",") if a.strip()]
        for a in aggs:
            if a not in AGGREGATIONS:
                raise BadQuery("Invalid aggregation '%s': expected Average, Count, Minimum, Maximum or Total." % a)
        flt = parse_filter(req.q("$filter"))
        try:
            top = int(req.q("top") or DEFAULT_TOP)
        except ValueError:
            raise BadQuery("Invalid top '%s': expected a whole number." % req.q("top"))
        metadata_only = (req.q("resultType") or "").lower() == "metadata"
        value = []
        for n in names:
            name = canon[n.lower()]
            unit, primary, kind, dims, desc = defs[name]
            for d in flt:
                if d not in {x.lower() for x in dims}:
                    raise BadQuery("Metric: %s does not support requested dimension combination: %s, supported ones are: %s"
                                   % (name, ",".join(sorted(flt)), ",".join(dims) or "<none>"))
            series = self._series(endpoint_uri, deployment, kind, flt, start, end, step, g, aggs or [primary.lower()],
                                  metadata_only) if kind else []
            if flt:
                series = series[:top]
            value.append({"id": "%s/providers/Microsoft.Insights/metrics/%s" % (resource_uri, name),
                          "type": "Microsoft.Insights/metrics",
                          "name": {"value": name, "localizedValue": re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ")},
                          "displayDescription": desc, "unit": unit, "timeseries": series, "errorCode": "Success"})
        out = {"cost": 0, "timespan": "%s/%s" % (_iso(start), _iso(end)), "value": value,
               "namespace": namespace.lower(), "resourceregion": self.app.location if self.app else "eastus"}
        if not metadata_only:
            out["interval"] = "FULL" if step is None else iv_text
        return out

    @staticmethod
    def _dims_of(deployment_scoped, deployment, status):
        if deployment_scoped:
            return {"envoy_response_code": str(status)}
        return {"deployment": deployment, "statusCode": str(status), "statusCodeClass": "%dxx" % (status // 100),
                "modelStatusCode": str(status) if deployment else ""}

    def _series(self, endpoint_uri, deployment, kind, flt, start, end, step, g, aggs, metadata_only):
        ep_key = endpoint_uri.lower()
        with self.lock:
            rows = [(k, a) for k, a in self.buckets.items() if k[0] == ep_key and start - g < k[3] < end
                    and (deployment is None or k[1].lower() == deployment.lower())]
            rows = [(k, a.n, a.sum, a.min, a.max, list(a.samples)) for k, a in rows]
        groups = {}
        for (key, n, total, lo, hi, samples) in rows:
            dims = self._dims_of(deployment is not None, key[1], key[2])
            low = {d.lower(): (d, v) for d, v in dims.items()}
            if any(low[d][1] not in vals for d, vals in flt.items() if vals is not None):
                continue
            series_key = tuple(sorted((low[d][0], low[d][1]) for d in flt))
            groups.setdefault(series_key, []).append((key[3], n, total, lo, hi, samples))
        if not flt and not groups:
            groups[()] = []
        out = []
        for series_key, buckets in groups.items():
            meta = [{"name": {"value": d.lower(), "localizedValue": d}, "value": v} for d, v in series_key]
            data = [] if metadata_only else self._points(kind, buckets, start, end, step, g, aggs)
            out.append((sum(b[1] for b in buckets), {"metadatavalues": meta, "data": data}))
        out.sort(key=lambda x: -x[0])
        return [s for _, s in out]

    @staticmethod
    def _points(kind, buckets, start, end, step, g, aggs):
        first = math.floor(start / g) * g
        windows = [(first, end)] if step is None else [(t, t + step) for t in _frange(first, end, step)]
        points = []
        for lo_t, hi_t in windows:
            inside = [b for b in buckets if lo_t <= b[0] < hi_t]
            point = {"timeStamp": _iso(lo_t)}
            per_grain = _per_grain(kind, inside)
            if per_grain:
                vals = {"total": sum(v for v, _ in per_grain), "count": sum(c for _, c in per_grain),
                        "minimum": min(v for v, _ in per_grain), "maximum": max(v for v, _ in per_grain)}
                if kind == "latency":
                    n = sum(b[1] for b in inside)
                    vals = {"total": sum(b[2] for b in inside), "count": n, "average": sum(b[2] for b in inside) / n,
                            "minimum": min(b[3] for b in inside), "maximum": max(b[4] for b in inside)}
                else:
                    vals["average"] = vals["total"] / len(per_grain)
                    if kind != "count":
                        vals["count"] = len(per_grain)
                for a in aggs:
                    point[a] = round(vals[a], 3)
            points.append(point)
        return points


def _frange(first, end, step):
    t = first
    while t < end:
        yield t
        t += step


def _per_grain(kind, inside):
    """(value, count) per grain: the requests of that grain (count), or its
    percentile (pNN), over every series merged into this one."""
    by_grain = {}
    for b in inside:
        by_grain.setdefault(b[0], []).append(b)
    out = []
    for _, bs in sorted(by_grain.items()):
        if kind == "count" or kind == "latency":
            n = sum(b[1] for b in bs)
            out.append((float(n), n))
        else:
            samples = [s for b in bs for s in b[5]]
            out.append((percentile(samples, int(kind[1:])), 1))
    return out
