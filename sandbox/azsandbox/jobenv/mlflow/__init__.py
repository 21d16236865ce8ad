"""A small stand-in for the `mlflow` package inside sandbox jobs.

There is no PyPI in the sandbox, so the real mlflow cannot be installed. The
executor puts this module first on a job's PYTHONPATH. It implements the
tracking calls a training script makes (start_run, end_run, log_param(s),
log_metric(s), set_tag(s), log_artifact(s), active_run, get_tracking_uri)
over the MLflow REST API at MLFLOW_TRACKING_URI with the bearer token in
MLFLOW_TRACKING_TOKEN, the way Azure ML's job environment sets them. Inside a
job the active run is the job's own run (MLFLOW_RUN_ID = job name).
Standard library only; HTTPS goes through HTTPS_PROXY with SSL_CERT_FILE.
"""
import json
import math
import os
import time
import urllib.parse
import urllib.request

__version__ = "2.0.0+sandbox"

_active = []


class MlflowException(Exception):
    pass


class _RunInfo:
    def __init__(self, info):
        self.run_id = info["run_id"]
        self.run_uuid = info["run_id"]
        self.experiment_id = info.get("experiment_id")
        self.status = info.get("status")
        self.artifact_uri = info.get("artifact_uri")
        self.run_name = info.get("run_name")


class ActiveRun:
    def __init__(self, info):
        self.info = _RunInfo(info)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        end_run("FINISHED" if exc_type is None else "FAILED")
        return False


def get_tracking_uri():
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    if uri.startswith("azureml://"):
        uri = "https://" + uri[len("azureml://"):]
    return uri.rstrip("/")


def set_tracking_uri(uri):
    os.environ["MLFLOW_TRACKING_URI"] = uri


def _call(method, path, body=None, query=None, raw=None, content_type="application/json"):
    url = "%s/api/2.0/%s" % (get_tracking_uri(), path)
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", "Bearer " + os.environ.get("MLFLOW_TRACKING_TOKEN", ""))
    if data is not None:
        req.add_header("Content-Type", content_type)
    last = None
    for attempt in range(5):
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                text = r.read()
                return json.loads(text) if text else {}
        except urllib.error.HTTPError as e:
            last = MlflowException("%s %s -> %d %s" % (method, path, e.code, e.read()[:300].decode(errors="replace")))
            if e.code not in (429, 500, 502, 503, 504):
                raise last
        except OSError as e:
            last = MlflowException("%s %s failed: %s" % (method, path, e))
        time.sleep(min(8, 0.5 * 2 ** attempt))
    raise last


def _run_id():
    if _active:
        return _active[-1].info.run_id
    env = os.environ.get("MLFLOW_RUN_ID")
    if env:
        return env
    return start_run().info.run_id


def active_run():
    return _active[-1] if _active else None


def start_run(run_id=None, experiment_id=None, run_name=None, nested=False, tags=None):
    run_id = run_id or (None if nested or _active else os.environ.get("MLFLOW_RUN_ID"))
    if run_id:
        info = _call("GET", "mlflow/runs/get", query={"run_id": run_id})["run"]["info"]
    else:
        body = {"start_time": int(time.time() * 1000), "tags": [{"key": k, "value": str(v)} for k, v in (tags or {}).items()]}
        if experiment_id:
            body["experiment_id"] = experiment_id
        if run_name:
            body["run_name"] = run_name
        info = _call("POST", "mlflow/runs/create", body)["run"]["info"]
    run = ActiveRun(info)
    _active.append(run)
    return run


def end_run(status="FINISHED"):
    if not _active:
        return
    run = _active.pop()
    if run.info.run_id != os.environ.get("MLFLOW_RUN_ID"):    # the job's own run is ended by the service
        _call("POST", "mlflow/runs/update", {"run_id": run.info.run_id, "status": status,
                                            "end_time": int(time.time() * 1000)})


def _metric_value(value):
    """As the real client sends a double (protobuf JSON): non-finite values are strings."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def log_metric(key, value, step=None, timestamp=None):
    _call("POST", "mlflow/runs/log-metric", {"run_id": _run_id(), "key": key, "value": _metric_value(value),
                                            "timestamp": timestamp or int(time.time() * 1000), "step": step or 0})


def log_metrics(metrics, step=None):
    now = int(time.time() * 1000)
    _call("POST", "mlflow/runs/log-batch", {"run_id": _run_id(), "metrics": [
        {"key": k, "value": _metric_value(v), "timestamp": now, "step": step or 0} for k, v in metrics.items()]})


def log_param(key, value):
    _call("POST", "mlflow/runs/log-parameter", {"run_id": _run_id(), "key": key, "value": str(value)})


def log_params(params):
    _call("POST", "mlflow/runs/log-batch", {"run_id": _run_id(), "params": [
        {"key": k, "value": str(v)} for k, v in params.items()]})


def set_tag(key, value):
    _call("POST", "mlflow/runs/set-tag", {"run_id": _run_id(), "key": key, "value": str(value)})


def set_tags(tags):
    _call("POST", "mlflow/runs/log-batch", {"run_id": _run_id(), "tags": [
        {"key": k, "value": str(v)} for k, v in tags.items()]})


def log_artifact(local_path, artifact_path=None):
    name = os.path.basename(local_path)
    rel = "/".join(p for p in ((artifact_path or "").strip("/"), name) if p)
    with open(local_path, "rb") as f:
        data = f.read()
    _call("PUT", "mlflow-artifacts/artifacts/%s/%s" % (_run_id(), urllib.parse.quote(rel)), raw=data,
          content_type="application/octet-stream")


def log_artifacts(local_dir, artifact_path=None):
    for root, _, files in os.walk(local_dir):
        for f in files:
            full = os.path.join(root, f)
            sub = os.path.relpath(root, local_dir)
            dest = "/".join(p for p in ((artifact_path or "").strip("/"), "" if sub == "." else sub.replace(os.sep, "/")) if p)
            log_artifact(full, dest or None)


def log_text(text, artifact_file):
    import tempfile
    d = tempfile.mkdtemp()
    path = os.path.join(d, os.path.basename(artifact_file))
    with open(path, "w") as f:
        f.write(text)
    log_artifact(path, os.path.dirname(artifact_file) or None)


def autolog(*args, **kwargs):
    """Accepted and ignored: there are no ML frameworks to patch in the sandbox."""
    return None
