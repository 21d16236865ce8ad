"""MLflow tracking REST API under the workspace tracking URI.

https://REGION.api.azureml.ms/mlflow/v1.0/subscriptions/S/resourceGroups/R/providers/
Microsoft.MachineLearningServices/workspaces/W/api/2.0/mlflow/<method>

Azure ML's run_id is the job name; the executor creates that run when a job
starts. Artifacts logged through the sandbox's mlflow stand-in go to the run's
artifact folder in Azurite (azureml/ExperimentRun/dcid.<run>/...), the same
place job outputs land.
"""
import math
import re
import threading
import time
import uuid
from urllib.parse import unquote

from . import config as cfg
from .entra import ARM_AUDIENCES
from .httpcore import json_response

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


def mlflow_error(status, code, message):
    return json_response(status, {"error_code": code, "message": message})


def now_ms():
    return int(time.time() * 1000)


def wire_metric(m):
    """A metric as MLflow's REST API writes it: protobuf JSON, whose non-finite
    doubles are the strings "NaN", "Infinity" and "-Infinity" (bare NaN is not JSON)."""
    out = dict(m)
    v = out["value"]
    if math.isnan(v):
        out["value"] = "NaN"
    elif math.isinf(v):
        out["value"] = "Infinity" if v > 0 else "-Infinity"
    return out


_JSON_NUMBER = re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$")


def metric_value(v):
    """A metric value read as protobuf JSON reads a double: a finite number, a numeric
    string, or "NaN" / "Infinity" / "-Infinity"; ValueError otherwise (bare NaN and
    Infinity tokens included: protobuf refuses them and asks for the quoted forms)."""
    if isinstance(v, bool):
        raise ValueError("a metric value must be a number, not %s" % json_bool(v))
    if isinstance(v, (int, float)):
        if not math.isfinite(v):
            raise ValueError("use the quoted \"NaN\", \"Infinity\" or \"-Infinity\" for a non-finite value")
        return float(v)
    if isinstance(v, str):
        if v in ("NaN", "Infinity", "-Infinity"):
            return float(v.replace("Infinity", "inf"))
        if _JSON_NUMBER.match(v.strip()):
            return float(v)
    raise ValueError("couldn't parse metric value %r" % (v,))


def json_bool(v):
    return "true" if v else "false"


class MlflowApi:
    def __init__(self, app):
        self.app = app
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.experiments = {}     # (ws key, id) -> experiment
            self.runs = {}            # (ws key, run_id) -> run
            self.next_exp = 1

    def dump(self):
        with self.lock:
            return {"experiments": [dict(e, ws=k[0]) for k, e in self.experiments.items()],
                    "runs": {"%s/%s" % k: self.run_json(r) for k, r in self.runs.items()}}

    # -- store ----------------------------------------------------------------------

    def experiment(self, ws_key, name, create=True):
        with self.lock:
            for (k, _), e in self.experiments.items():
                if k == ws_key and e["name"] == name:
                    return e
            if not create:
                return None
            exp_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "%s/%s" % (ws_key, name)))
            e = {"experiment_id": exp_id, "name": name, "artifact_location": "", "lifecycle_stage": "active",
                 "last_update_time": now_ms(), "creation_time": now_ms(), "tags": []}
            self.experiments[(ws_key, exp_id)] = e
            return e

    def create_run(self, ws_key, experiment_name, run_id=None, run_name=None, tags=None, status="RUNNING"):
        exp = self.experiment(ws_key, experiment_name)
        run_id = run_id or uuid.uuid4().hex
        with self.lock:
            run = {"info": {"run_id": run_id, "run_uuid": run_id, "experiment_id": exp["experiment_id"],
                            "run_name": run_name or run_id, "user_id": "sandbox-user", "status": status,
                            "start_time": now_ms(), "end_time": None, "lifecycle_stage": "active",
                            "artifact_uri": "azureml://experiments/%s/runs/%s/artifacts" % (experiment_name, run_id)},
                   "metrics": {}, "params": {}, "tags": dict(tags or {})}
            self.runs[(ws_key, run_id)] = run
            return run

    def set_status(self, ws_key, run_id, status):
        with self.lock:
            run = self.runs.get((ws_key, run_id))
            if run:
                run["info"]["status"] = status
                if status in ("FINISHED", "FAILED", "KILLED"):
                    run["info"]["end_time"] = now_ms()

    def run_json(self, run):
        metrics = [max(hist, key=lambda m: (m["step"], m["timestamp"])) for hist in run["metrics"].values()]
        info = {k: v for k, v in run["info"].items() if v is not None}
        return {"info": info, "data": {
            "metrics": [wire_metric(m) for m in metrics],
            "params": [{"key": k, "value": v} for k, v in run["params"].items()],
            "tags": [{"key": k, "value": v} for k, v in run["tags"].items()]}}

    # -- HTTP -----------------------------------------------------------------------------

    def handle(self, req):
        path = req.path
        if path.rstrip("/") == "/discovery":
            base = "https://%s" % req.host
            return json_response(200, {"api": base, "catalog": base, "experimentation": base, "gallery": base + "/gallery",
                                       "history": base, "hyperdrive": base, "labeling": base, "modelmanagement": base,
                                       "pipelines": base, "studio": "https://ml.azure.com"})
        if path.startswith("/history/"):
            return self.app.pipelines.history(req)
        m = re.match(r"^/mlflow/v[12]\.0/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.MachineLearningServices/"
                     r"workspaces/([^/]+)/api/2\.0/(mlflow|mlflow-artifacts)/(.+)$", path, re.I)
        if not m:
            return mlflow_error(404, "ENDPOINT_NOT_FOUND", "No API endpoint at %s" % path)
        token = req.bearer()
        if not token:
            return mlflow_error(401, "UNAUTHENTICATED", "The request has no bearer token.")
        _, reason = self.app.entra.validate_access_token(token, ARM_AUDIENCES)
        if reason == "expired":
            return mlflow_error(401, "UNAUTHENTICATED", "The access token has expired.")
        if reason:
            return mlflow_error(401, "UNAUTHENTICATED", "The access token is invalid (%s)." % reason)
        sub, rg, ws_name, family, method = m.groups()
        ws = self.app.azureml.workspace(rg, ws_name)
        if sub.lower() != self.app.subscription_id or ws is None:
            return mlflow_error(404, "RESOURCE_DOES_NOT_EXIST", "Workspace %s not found." % ws_name)
        ws_key = "%s/%s" % (ws.rg.lower(), ws.name.lower())
        if family.lower() == "mlflow-artifacts":
            return self._artifact_upload(req, ws, method)
        try:
            params = req.json() if req.method == "POST" else {k: v[0] for k, v in req.query.items()}
        except ValueError:
            return mlflow_error(400, "MALFORMED_REQUEST", "The request body is not valid JSON.")
        if not isinstance(params, dict):
            return mlflow_error(400, "MALFORMED_REQUEST", "The request body must be a JSON object.")
        handler = {
            ("GET", "experiments/get-by-name"): self._exp_by_name,
            ("GET", "experiments/get"): self._exp_get,
            ("POST", "experiments/create"): self._exp_create,
            ("POST", "experiments/search"): self._exp_search,
            ("GET", "experiments/search"): self._exp_search,
            ("POST", "runs/create"): self._run_create,
            ("GET", "runs/get"): self._run_get,
            ("POST", "runs/update"): self._run_update,
            ("POST", "runs/log-metric"): self._log_metric,
            ("POST", "runs/log-parameter"): self._log_param,
            ("POST", "runs/set-tag"): self._set_tag,
            ("POST", "runs/log-batch"): self._log_batch,
            ("POST", "runs/search"): self._run_search,
            ("GET", "metrics/get-history"): self._history,
            ("GET", "artifacts/list"): self._artifacts_list,
        }.get((req.method, method.rstrip("/")))
        if handler is None:
            return mlflow_error(404, "ENDPOINT_NOT_FOUND", "No API endpoint %s %s" % (req.method, method))
        with self.lock:
            return handler(ws, ws_key, params)

    def _run(self, ws_key, params):
        run_id = params.get("run_id") or params.get("run_uuid")
        if not run_id:
            return None, mlflow_error(400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'.")
        run = self.runs.get((ws_key, run_id))
        if run is None:
            return None, mlflow_error(404, "RESOURCE_DOES_NOT_EXIST", "Run with id=%s not found" % run_id)
        return run, None

    def _exp_by_name(self, ws, ws_key, p):
        e = self.experiment(ws_key, p.get("experiment_name"), create=False)
        if e is None:
            return mlflow_error(404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name '%s'" % p.get("experiment_name"))
        return json_response(200, {"experiment": e})

    def _exp_get(self, ws, ws_key, p):
        e = self.experiments.get((ws_key, p.get("experiment_id")))
        if e is None:
            return mlflow_error(404, "RESOURCE_DOES_NOT_EXIST", "No experiment with id=%s" % p.get("experiment_id"))
        return json_response(200, {"experiment": e})

    def _exp_create(self, ws, ws_key, p):
        if not p.get("name"):
            return mlflow_error(400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'.")
        if self.experiment(ws_key, p["name"], create=False):
            return mlflow_error(400, "RESOURCE_ALREADY_EXISTS", "Experiment '%s' already exists." % p["name"])
        return json_response(200, {"experiment_id": self.experiment(ws_key, p["name"])["experiment_id"]})

    def _exp_search(self, ws, ws_key, p):
        return json_response(200, {"experiments": [e for (k, _), e in self.experiments.items() if k == ws_key]})

    def _run_create(self, ws, ws_key, p):
        exp = self.experiments.get((ws_key, p.get("experiment_id") or ""))
        if exp is None:
            exp = self.experiment(ws_key, "Default")
        tags = {t["key"]: t["value"] for t in p.get("tags") or [] if isinstance(t, dict)}
        run = self.create_run(ws_key, exp["name"], run_name=p.get("run_name") or tags.get("mlflow.runName"), tags=tags)
        if p.get("start_time"):
            run["info"]["start_time"] = int(p["start_time"])
        return json_response(200, {"run": self.run_json(run)})

    def _run_get(self, ws, ws_key, p):
        run, err = self._run(ws_key, p)
        return err or json_response(200, {"run": self.run_json(run)})

    def _run_update(self, ws, ws_key, p):
        run, err = self._run(ws_key, p)
        if err:
            return err
        if p.get("status"):
            if p["status"] not in RUN_STATUSES:
                return mlflow_error(400, "INVALID_PARAMETER_VALUE", "Invalid run status %s" % p["status"])
            run["info"]["status"] = p["status"]
        if p.get("end_time"):
            run["info"]["end_time"] = int(p["end_time"])
        if p.get("run_name"):
            run["info"]["run_name"] = p["run_name"]
        return json_response(200, {"run_info": run["info"]})

    def _add_metric(self, run, m):
        try:
            value = metric_value(m["value"])
        except ValueError as exc:
            return mlflow_error(400, "INVALID_PARAMETER_VALUE", "Invalid value for metric '%s': %s." % (m.get("key"), exc))
        except (KeyError, TypeError):
            return mlflow_error(400, "INVALID_PARAMETER_VALUE", "A metric needs key, numeric value, timestamp and step.")
        try:
            entry = {"key": str(m["key"]), "value": value, "timestamp": int(m.get("timestamp") or now_ms()),
                     "step": int(m.get("step") or 0)}
        except (KeyError, TypeError, ValueError):
            return mlflow_error(400, "INVALID_PARAMETER_VALUE", "A metric needs key, numeric value, timestamp and step.")
        run["metrics"].setdefault(entry["key"], []).append(entry)
        return None

    def _add_param(self, run, key, value):
        if key in run["params"] and run["params"][key] != str(value):
            return mlflow_error(400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed. Param with key='%s' was "
                                "already logged with value='%s' for run ID='%s'." % (key, run["params"][key], run["info"]["run_id"]))
        run["params"][key] = str(value)
        return None

    def _log_metric(self, ws, ws_key, p):
        run, err = self._run(ws_key, p)
        return err or self._add_metric(run, p) or json_response(200, {})

    def _log_param(self, ws, ws_key, p):
        run, err = self._run(ws_key, p)
        if err:
            return err
        if not p.get("key"):
            return mlflow_error(400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'key'.")
        return self._add_param(run, p["key"], p.get("value", "")) or json_response(200, {})

    def _set_tag(self, ws, ws_key, p):
        run, err = self._run(ws_key, p)
        if err:
            return err
        run["tags"][str(p.get("key"))] = str(p.get("value", ""))
        return json_response(200, {})

    def _log_batch(self, ws, ws_key, p):
        run, err = self._run(ws_key, p)
        if err:
            return err
        for m in p.get("metrics") or []:
            err = self._add_metric(run, m)
            if err:
                return err
        for prm in p.get("params") or []:
            err = self._add_param(run, prm.get("key"), prm.get("value", ""))
            if err:
                return err
        for t in p.get("tags") or []:
            run["tags"][str(t.get("key"))] = str(t.get("value", ""))
        return json_response(200, {})

    def _history(self, ws, ws_key, p):
        run, err = self._run(ws_key, p)
        if err:
            return err
        hist = run["metrics"].get(p.get("metric_key"), [])
        try:
            start = int(p.get("page_token") or 0)
            size = int(p.get("max_results") or 25000)
        except ValueError:
            return mlflow_error(400, "INVALID_PARAMETER_VALUE", "Invalid page_token or max_results")
        page = [wire_metric(m) for m in hist[start:start + size]]
        body = {"metrics": page}
        if start + size < len(hist):
            body["next_page_token"] = str(start + size)
        return json_response(200, body)

    def _run_search(self, ws, ws_key, p):
        exp_ids = set(p.get("experiment_ids") or [])
        runs = [r for (k, _), r in self.runs.items() if k == ws_key and (not exp_ids or r["info"]["experiment_id"] in exp_ids)]
        try:
            clauses = _parse_filter(p.get("filter") or "")
        except ValueError as exc:
            return mlflow_error(400, "INVALID_PARAMETER_VALUE", "Invalid filter: %s" % exc)
        runs = [r for r in runs if all(_clause_ok(self.run_json(r), c) for c in clauses)]
        runs.sort(key=lambda r: r["info"]["start_time"], reverse=True)
        start = int(p.get("page_token") or 0)
        size = int(p.get("max_results") or 1000)
        body = {"runs": [self.run_json(r) for r in runs[start:start + size]]}
        if start + size < len(runs):
            body["next_page_token"] = str(start + size)
        return json_response(200, body)

    def _artifacts_list(self, ws, ws_key, p):
        run, err = self._run(ws_key, p)
        if err:
            return err
        base = "ExperimentRun/dcid.%s/" % run["info"]["run_id"]
        prefix = base + (p.get("path") or "").strip("/")
        files = {}
        for name, size in self.app.blob.list_blobs(cfg.WORKSPACE_STORAGE_ACCOUNT, cfg.ARTIFACT_CONTAINER, prefix):
            rel = name[len(base):]
            sub = rel[len((p.get("path") or "").strip("/")):].lstrip("/")
            head = sub.split("/")[0]
            parent = ((p.get("path") or "").strip("/") + "/" + head).lstrip("/")
            files[parent] = {"path": parent, "is_dir": "/" in sub} if "/" in sub else {"path": parent, "is_dir": False, "file_size": size}
        return json_response(200, {"root_uri": run["info"]["artifact_uri"], "files": sorted(files.values(), key=lambda f: f["path"])})

    def _artifact_upload(self, req, ws, rest):
        m = re.match(r"^artifacts/([^/]+)/(.+)$", rest)
        if req.method != "PUT" or not m:
            return mlflow_error(404, "ENDPOINT_NOT_FOUND", "Only PUT artifacts/<run_id>/<path> is served")
        run_id, rel = m.group(1), unquote(m.group(2))
        if ".." in rel.split("/"):
            return mlflow_error(400, "INVALID_PARAMETER_VALUE", "Invalid artifact path")
        self.app.blob.put_blob(cfg.WORKSPACE_STORAGE_ACCOUNT, cfg.ARTIFACT_CONTAINER, "ExperimentRun/dcid.%s/%s" % (run_id, rel), req.body)
        return json_response(200, {})


_CLAUSE = re.compile(r"""^\s*(metrics|params|tags|attributes|attribute|metric|param|tag)\.(`[^`]+`|"[^"]+"|[\w.\-]+)\s*
                        (=|!=|>=|<=|>|<|LIKE|ILIKE)\s*('[^']*'|"[^"]*"|[-\d.eE+]+)\s*$""", re.X | re.I)


def _parse_filter(text):
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.I) if text.strip() else []:
        m = _CLAUSE.match(part)
        if not m:
            raise ValueError(part)
        kind, key, op, value = m.groups()
        key = key.strip('`"')
        value = value[1:-1] if value[0] in "'\"" else float(value)
        clauses.append((kind.lower().rstrip("s"), key, op.upper(), value))
    return clauses


def _clause_ok(run, clause):
    kind, key, op, value = clause
    data = run["data"]
    if kind in ("attribute",):
        actual = run["info"].get(key if key != "run_id" else "run_id")
    elif kind == "metric":
        actual = next((m["value"] for m in data["metrics"] if m["key"] == key), None)
    else:
        actual = next((t["value"] for t in data["params" if kind == "param" else "tags"] if t["key"] == key), None)
    if actual is None:
        return False
    if isinstance(value, float):
        try:
            actual = float(actual)
        except ValueError:
            return False
    if op in ("LIKE", "ILIKE"):
        pattern = "^" + re.escape(str(value)).replace("%", ".*").replace("_", ".") + "$"
        return re.match(pattern, str(actual), re.I if op == "ILIKE" else 0) is not None
    return {"=": actual == value, "!=": actual != value, ">": actual > value, "<": actual < value,
            ">=": actual >= value, "<=": actual <= value}[op]
