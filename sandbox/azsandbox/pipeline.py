"""Pipeline jobs: a submitted `jobType: Pipeline` runs as a DAG of child jobs.

Each entry of properties.jobs is a step holding an inline command component
(command, codeId, environmentId, computeId, inputs, outputs). A step input
is a literal, a data reference, or a binding: "${{parent.inputs.<x>}}" (the
pipeline's input) or "${{parent.jobs.<step>.outputs.<y>}}" (an output of an
earlier step). A step output may be bound to "${{parent.outputs.<z>}}", the
pipeline's own output, which then points where that step's output landed.

Steps run one after the other in an order that respects their bindings,
each as its own command job through the executor: a child job with a
generated name, the step's name as display name, and the parent's name in
properties.azureml.parentRunId and in its MLflow run's mlflow.parentRunId
tag. The children are listed as run history lists them: GET
/history/v1.0/.../runs/<parent>/children.

The parent is Running while its steps run; Completed when all completed;
Failed as soon as one fails (the steps after it are not started); Canceled
on cancel (the running step is cancelled with it).
"""
import copy
import re
import threading
import time
import uuid

from .entra import ARM_AUDIENCES
from .executor import JobRun
from .httpcore import json_response

TERMINAL = ("Completed", "Failed", "Canceled")
BINDING = re.compile(r"^\$\{\{\s*parent\.(inputs\.([\w]+)|jobs\.([\w\-]+)\.outputs\.([\w]+))\s*\}\}$")
OUT_BINDING = re.compile(r"^\$\{\{\s*parent\.outputs\.([\w]+)\s*\}\}$")
HISTORY = re.compile(r"^/history/v1\.0/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/"
                     r"Microsoft\.MachineLearningServices/workspaces/([^/]+)/runs/([^/]+)/children/?$", re.I)


class PipelineError(Exception):
    """A pipeline body the service refuses (400)."""


def _binding(value):
    if isinstance(value, str):
        return BINDING.match(value.strip())
    return None


def _step_deps(step):
    deps = set()
    for inp in (step.get("inputs") or {}).values():
        for v in (inp.get("value"), inp.get("uri")) if isinstance(inp, dict) else ():
            m = _binding(v)
            if m and m.group(3):
                deps.add(m.group(3))
    return deps


def order(props):
    """The steps' names in an order that runs every step after those it reads from."""
    jobs = props.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        raise PipelineError("The field 'jobs' of a pipeline job must be a non-empty object.")
    deps = {}
    for name, step in jobs.items():
        if not isinstance(step, dict) or step.get("type", "command") != "command":
            raise PipelineError("Job '%s' of the pipeline must be a command step." % name)
        for field in ("command", "environmentId"):
            if not isinstance(step.get(field), str) or not step[field].strip():
                raise PipelineError("The field '%s' is required for pipeline step '%s'." % (field, name))
        deps[name] = _step_deps(step)
        for d in deps[name]:
            if d not in jobs:
                raise PipelineError("Step '%s' binds an output of '%s', which is not a step of the pipeline." % (name, d))
    done, out = set(), []
    while len(out) < len(jobs):
        ready = [n for n in jobs if n not in done and deps[n] <= done]
        if not ready:
            raise PipelineError("The steps of the pipeline bind each other's outputs in a cycle.")
        for n in ready:
            done.add(n)
            out.append(n)
    return out


class PipelineRun(JobRun):
    """Stands in the executor's table for the parent, so status, error and cancel work as for any job."""

    def __init__(self, ws, job):
        super().__init__(ws, job)
        self.children = []      # (step, child job name), in the order they were started


class Pipelines:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def submit(self, ws, job):
        ex = self.app.executor
        run = PipelineRun(ws, job)
        with ex.lock:
            ex.runs[ex.key(ws, job["name"])] = run
        props = job["properties"]
        self.app.mlflow.create_run(self._ws_key(ws), props.get("experimentName", "Default"), run_id=job["name"],
                                   run_name=props.get("displayName"), status="SCHEDULED",
                                   tags={"mlflow.user": "sandbox-user", "azureml.runsource": "azureml.PipelineRun"})
        run.thread = threading.Thread(target=self._run, args=(run,), name="pipeline-" + job["name"], daemon=True)
        run.thread.start()

    @staticmethod
    def _ws_key(ws):
        return "%s/%s" % (ws.rg.lower(), ws.name.lower())

    def _set(self, run, status):
        run.status = status
        self.app.log("pipeline %s: %s" % (run.name, status))

    def _run(self, run):
        props = run.job["properties"]
        mlflow_status = "FAILED"
        try:
            steps = order(props)
            self._set(run, "Running")
            self.app.mlflow.set_status(self._ws_key(run.ws), run.name, "RUNNING")
            produced = {}
            for step in steps:
                if run.cancel.is_set():
                    raise _Canceled()
                child = self._start_step(run, step, props["jobs"][step], produced)
                status = self._wait(run, child)
                if status == "Canceled" or run.cancel.is_set():
                    raise _Canceled()
                if status != "Completed":
                    err = self.app.executor.error(run.ws, child) or {}
                    run.error = {"code": err.get("code", "UserError"),
                                 "message": "Pipeline step '%s' (job %s) ended %s: %s" % (
                                     step, child, status, err.get("message", ""))}
                    self._set(run, "Failed")
                    return
                self._collect_outputs(run, step, child, produced)
            self._set(run, "Completed")
            mlflow_status = "FINISHED"
        except _Canceled:
            self._set(run, "Canceled")
            mlflow_status = "KILLED"
        except _StepError:
            self._set(run, "Failed")
        except PipelineError as exc:
            run.error = {"code": "UserError", "message": str(exc)}
            self._set(run, "Failed")
        except Exception as exc:  # a sandbox bug still ends the pipeline, visibly
            self.app.log("pipeline %s crashed: %r" % (run.name, exc))
            run.error = {"code": "SystemError", "message": "Sandbox pipeline error: %s" % exc}
            self._set(run, "Failed")
        finally:
            self.app.mlflow.set_status(self._ws_key(run.ws), run.name, mlflow_status)

    def _bind(self, run, step, value, produced):
        """A step input's value or URI with its binding replaced, and the input type it then has."""
        m = _binding(value)
        if not m:
            return None
        if m.group(2):
            parent_in = (run.job["properties"].get("inputs") or {}).get(m.group(2))
            if not isinstance(parent_in, dict):
                raise _StepError("Step '%s' binds pipeline input '%s', which the pipeline does not have." % (step, m.group(2)))
            return copy.deepcopy(parent_in)
        uri = produced.get((m.group(3), m.group(4)))
        if uri is None:
            raise _StepError("Step '%s' binds output '%s' of step '%s', which it does not produce." % (step, m.group(4), m.group(3)))
        return {"jobInputType": "uri_folder", "uri": uri}

    def _child_inputs(self, run, step, spec, produced):
        out = {}
        for name, inp in (spec.get("inputs") or {}).items():
            inp = dict(inp) if isinstance(inp, dict) else {"jobInputType": "literal", "value": inp}
            if "job_input_type" in inp:
                inp["jobInputType"] = inp.pop("job_input_type")
            bound = self._bind(run, step, inp.get("value"), produced) or self._bind(run, step, inp.get("uri"), produced)
            out[name] = bound if bound is not None else inp
        return out

    def _child_outputs(self, spec):
        out = {}
        for name, o in (spec.get("outputs") or {}).items():
            o = dict(o) if isinstance(o, dict) else {}
            if "job_output_type" in o:
                o["jobOutputType"] = o.pop("job_output_type")
            o.setdefault("jobOutputType", "uri_folder")
            if OUT_BINDING.match(str(o.get("uri") or o.get("value") or "")):
                o.pop("uri", None)
            o.pop("value", None)
            out[name] = o
        return out

    def _start_step(self, run, step, spec, produced):
        props = run.job["properties"]
        settings = props.get("settings") or {}
        child = str(uuid.uuid4())
        try:
            inputs = self._child_inputs(run, step, spec, produced)
        except _StepError as exc:
            run.error = {"code": "UserError", "message": str(exc)}
            raise
        cprops = {"jobType": "Command", "command": spec["command"], "environmentId": spec["environmentId"],
                  "experimentName": props.get("experimentName", "Default"), "displayName": spec.get("displayName") or step,
                  "inputs": inputs, "outputs": self._child_outputs(spec),
                  "environmentVariables": spec.get("environmentVariables") or {},
                  "tags": {}, "properties": {"azureml.parentRunId": run.name, "azureml.nodeid": step},
                  "isArchived": False}
        for src, dst in (("codeId", "codeId"), ("computeId", "computeId")):
            if spec.get(src):
                cprops[dst] = spec[src]
        if "computeId" not in cprops and (settings.get("default_compute") or props.get("computeId")):
            cprops["computeId"] = settings.get("default_compute") or props.get("computeId")
        azureml = self.app.azureml
        job = {"name": child, "seq": azureml._seq(run.ws), "properties": cprops,
               "systemData": run.job["systemData"], "created": time.time()}
        run.ws.jobs[child] = job
        run.children.append((step, child))
        self.app.log("pipeline %s: step %s is job %s" % (run.name, step, child))
        self.app.executor.submit(run.ws, job)
        mlflow = self.app.mlflow
        with mlflow.lock:
            mrun = mlflow.runs.get((self._ws_key(run.ws), child))
            if mrun is not None:
                mrun["tags"]["mlflow.parentRunId"] = run.name
        return child

    def _wait(self, run, child):
        ex = self.app.executor
        cancelled = False
        while True:
            status = ex.status(run.ws, child)
            if status in TERMINAL:
                return status
            if run.cancel.is_set() and not cancelled:
                ex.cancel(run.ws, child)
                cancelled = True
            time.sleep(0.1)

    def _collect_outputs(self, run, step, child, produced):
        cprops = run.ws.jobs[child]["properties"]
        parent_outs = run.job["properties"].setdefault("outputs", {})
        spec = run.job["properties"]["jobs"][step]
        for name, o in (cprops.get("outputs") or {}).items():
            if not o.get("uri"):
                continue
            produced[(step, name)] = o["uri"]
            declared = (spec.get("outputs") or {}).get(name) or {}
            m = OUT_BINDING.match(str(declared.get("uri") or declared.get("value") or "")) if isinstance(declared, dict) else None
            if m:
                parent_outs.setdefault(m.group(1), {"jobOutputType": "uri_folder"})["uri"] = o["uri"]

    # -- run history: the children of a run ----------------------------------------------------

    def children(self, ws, name):
        ex = self.app.executor
        run = ex.runs.get(ex.key(ws, name))
        return list(run.children) if isinstance(run, PipelineRun) else []

    def history(self, req):
        m = HISTORY.match(req.path)
        if not m or req.method != "GET":
            return json_response(404, {"error": {"code": "NotFound", "message": "No API endpoint at %s" % req.path}})
        token = req.bearer()
        reason = "missing" if not token else self.app.entra.validate_access_token(token, ARM_AUDIENCES)[1]
        if reason:
            return json_response(401, {"error": {"code": "Unauthorized", "message": "The access token is %s." % reason}})
        sub, rg, ws_name, parent = m.groups()
        ws = self.app.azureml.workspace(rg, ws_name)
        if sub.lower() != self.app.subscription_id or ws is None:
            return json_response(404, {"error": {"code": "NotFound", "message": "Workspace %s not found." % ws_name}})
        if parent not in ws.jobs:
            return json_response(404, {"error": {"code": "NotFound", "message": "Run %s not found." % parent}})
        value = []
        for step, child in self.children(ws, parent):
            job = ws.jobs.get(child)
            if job is None:
                continue
            value.append({"runId": child, "parentRunId": parent, "displayName": job["properties"].get("displayName", step),
                          "status": self.app.executor.status(ws, child), "runType": "azureml.StepRun",
                          "properties": {"azureml.nodeid": step}})
        return json_response(200, {"value": value, "continuationToken": None, "nextLink": None})


class _Canceled(Exception):
    pass


class _StepError(Exception):
    pass
