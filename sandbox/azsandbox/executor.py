"""The local job executor: a submitted command job really runs.

Each job gets a fresh directory under SANDBOX_DIR/jobs/<name>/ holding the
code snapshot (downloaded from Azurite through the code version's codeUri),
its inputs (downloaded from the datastore) and one folder per output. The
command runs with `bash -c` in its own process group, with MLflow variables
pointing at the sandbox's tracking API and the sandbox's mlflow stand-in on
PYTHONPATH. Its output lines are appended, while it runs, to the append blob
azureml/ExperimentRun/dcid.<job>/user_logs/std_log.txt in the workspace
storage account; outputs are uploaded when it ends.

Status walk: NotStarted -> Queued -> Preparing -> Running -> Finalizing ->
Completed | Failed; cancel: CancelRequested -> Canceled.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from . import config as cfg
from .blob import BlobError

JOBENV_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jobenv")
TERMINAL = ("Completed", "Failed", "Canceled")
MAX_PARALLEL_JOBS = 4
MAX_JOB_PROCESSES = 16      # one host plays every node: a bound, not Azure's
LOG_FLUSH_SECONDS = 0.5


class JobFailure(Exception):
    def __init__(self, message, code="UserError"):
        super().__init__(message)
        self.code = code


def parse_duration(text):
    """ISO 8601 duration (PT2H, PT5M30S, P1D) -> seconds, or None."""
    m = re.match(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", text or "")
    if not m or text in ("P", "PT"):
        return None
    d, h, mi, s = m.groups()
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _check_process_count(n):
    if n > MAX_JOB_PROCESSES:
        raise JobFailure("The sandbox runs a distributed job as at most %d local processes; this one asks for %d."
                         % (MAX_JOB_PROCESSES, n), "UserError")


def process_plan(props):
    """The extra environment of each process of a distributed command job, in rank
    order, as Azure ML sets it on its nodes (all nodes are this host here); None for
    a job without distribution, which runs its command once.

    PyTorch and Mpi start processCountPerInstance processes on each of the
    resources.instanceCount nodes; TensorFlow starts workerCount workers (default:
    one per node) and parameterServerCount parameter servers, each told its task
    in TF_CONFIG."""
    dist = props.get("distribution") or {}
    kind = dist.get("distributionType")
    nodes = int((props.get("resources") or {}).get("instanceCount") or 1)
    if kind in ("PyTorch", "Mpi"):
        per = int(dist.get("processCountPerInstance") or 1)
        world = nodes * per
        _check_process_count(world)
        port = str(_free_port())
        plan = []
        for rank in range(world):
            node, local = divmod(rank, per)
            if kind == "PyTorch":
                plan.append({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WORLD_SIZE": str(world),
                             "RANK": str(rank), "LOCAL_RANK": str(local), "NODE_RANK": str(node)})
            else:
                plan.append({"OMPI_COMM_WORLD_SIZE": str(world), "OMPI_COMM_WORLD_RANK": str(rank),
                             "OMPI_COMM_WORLD_LOCAL_RANK": str(local), "OMPI_COMM_WORLD_LOCAL_SIZE": str(per),
                             "AZ_BATCHAI_MPI_MASTER_NODE": "127.0.0.1"})
        return plan
    if kind == "TensorFlow":
        tasks = [("worker", i) for i in range(int(dist.get("workerCount") or nodes))]
        tasks += [("ps", i) for i in range(int(dist.get("parameterServerCount") or 0))]
        _check_process_count(len(tasks))
        cluster = {}
        for kind_, _ in tasks:
            cluster.setdefault(kind_, []).append("127.0.0.1:%d" % _free_port())
        return [{"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": t, "index": i}})} for t, i in tasks]
    return None


class JobRun:
    def __init__(self, ws, job):
        self.ws = ws
        self.job = job
        self.name = job["name"]
        self.status = "NotStarted"
        self.error = None
        self.cancel = threading.Event()
        self.proc = None
        self.thread = None
        self.lock = threading.Lock()
        self.procs = []             # a distributed job's processes, rank order
        self.distributed = False
        self.logs_created = set()


class Executor:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.runs = {}
        self.slots = threading.BoundedSemaphore(MAX_PARALLEL_JOBS)
        self.root = os.path.join(app.dir, "jobs")

    # -- public ---------------------------------------------------------------------

    def key(self, ws, name):
        return (ws.rg.lower(), ws.name.lower(), name)

    def submit(self, ws, job, fail=False):
        run = JobRun(ws, job)
        run.inject_failure = fail
        with self.lock:
            self.runs[self.key(ws, job["name"])] = run
        ws_key = "%s/%s" % (ws.rg.lower(), ws.name.lower())
        self.app.mlflow.create_run(ws_key, job["properties"].get("experimentName", "Default"), run_id=job["name"],
                                   run_name=job["properties"].get("displayName"), status="SCHEDULED",
                                   tags={"mlflow.user": "sandbox-user", "azureml.runsource": "azureml.scriptrun"})
        run.thread = threading.Thread(target=self._run, args=(run,), name="job-" + job["name"], daemon=True)
        run.thread.start()

    def status(self, ws, name):
        run = self.runs.get(self.key(ws, name))
        if run is None:
            return "NotStarted"
        if run.cancel.is_set() and run.status not in TERMINAL:
            return "CancelRequested"
        return run.status

    def error(self, ws, name):
        run = self.runs.get(self.key(ws, name))
        return run.error if run else None

    def cancel(self, ws, name):
        run = self.runs.get(self.key(ws, name))
        if run is None or run.status in TERMINAL:
            return
        run.cancel.set()
        self._kill(run)

    def reset(self):
        self.shutdown()
        with self.lock:
            self.runs = {}
        shutil.rmtree(self.root, ignore_errors=True)

    def shutdown(self):
        with self.lock:
            runs = list(self.runs.values())
        for run in runs:
            if run.status not in TERMINAL:
                run.cancel.set()
                self._kill(run)
        for run in runs:
            if run.thread:
                run.thread.join(timeout=10)

    # -- the job thread -----------------------------------------------------------------

    def _wait(self, run, seconds):
        """Sleeps unless canceled; True when canceled."""
        return run.cancel.wait(seconds)

    def _set(self, run, status):
        run.status = status
        self.app.log("job %s: %s" % (run.name, status))

    def _run(self, run):
        step = float(self.app.settings["job_step_seconds"])
        ws_key = "%s/%s" % (run.ws.rg.lower(), run.ws.name.lower())
        mlflow_status = "FAILED"
        acquired = False
        try:
            if self._wait(run, step):
                raise _Canceled()
            self._set(run, "Queued")
            while not self.slots.acquire(timeout=0.5):
                if run.cancel.is_set():
                    raise _Canceled()
            acquired = True
            if self._wait(run, step):
                raise _Canceled()
            self._set(run, "Preparing")
            if run.inject_failure:
                raise JobFailure("The job failed while preparing its environment (injected by the sandbox fault script).", "ServiceError")
            workdir, code_dir, outputs, command, env = self._prepare(run)
            if run.cancel.is_set():
                raise _Canceled()
            self._set(run, "Running")
            self.app.mlflow.set_status(ws_key, run.name, "RUNNING")
            plan = process_plan(run.job["properties"])
            if plan is None:
                rc = self._execute(run, workdir, code_dir, command, env)
            else:
                rc = self._execute_distributed(run, workdir, code_dir, command, env, plan)
            if run.cancel.is_set():
                raise _Canceled()
            self._set(run, "Finalizing")
            self._upload_outputs(run, code_dir, outputs)
            if rc != 0:
                raise JobFailure("Execution failed. User process 'bash' exited with status code %d. Please check log file "
                                 "'%s' for error details." % (rc, self._log_blob(run, getattr(run, "failed_rank", None)).split("/", 2)[2]),
                                 "UserError")
            self._set(run, "Completed")
            mlflow_status = "FINISHED"
        except _Canceled:
            self._set(run, "Canceled")
            mlflow_status = "KILLED"
        except JobTimedOut as exc:
            # limits.timeout: "the max run duration ..., after which the job
            # will be cancelled" (the spec's CommandJobLimits).
            run.error = {"code": "JobTimeout", "message": str(exc)}
            self._append_log(run, "\n[sandbox] %s\n" % exc)
            self._set(run, "Canceled")
            mlflow_status = "KILLED"
        except JobFailure as exc:
            run.error = {"code": exc.code, "message": str(exc)}
            self._append_log(run, "\n[sandbox] job failed: %s\n" % exc)
            self._set(run, "Failed")
        except Exception as exc:  # a sandbox bug still ends the job, visibly
            self.app.log("job %s crashed: %r" % (run.name, exc))
            run.error = {"code": "SystemError", "message": "Sandbox executor error: %s" % exc}
            self._set(run, "Failed")
        finally:
            if acquired:
                self.slots.release()
            self.app.mlflow.set_status(ws_key, run.name, mlflow_status)

    # -- preparation ----------------------------------------------------------------------

    def _prepare(self, run):
        props = run.job["properties"]
        workdir = os.path.join(self.root, run.name)
        shutil.rmtree(workdir, ignore_errors=True)
        code_dir = os.path.join(workdir, "code")
        os.makedirs(code_dir)
        os.makedirs(os.path.join(workdir, "inputs"))
        self._check_environment(run.ws, props.get("environmentId"))
        if props.get("codeId"):
            self._fetch_code(run.ws, props["codeId"], code_dir)
        subst = {}
        env_extra = {}
        for name, inp in (props.get("inputs") or {}).items():
            if inp.get("jobInputType") == "literal":
                subst["inputs." + name] = str(inp.get("value", ""))
            else:
                local = self._fetch_input(run.ws, name, inp, os.path.join(workdir, "inputs", name))
                subst["inputs." + name] = local
                env_extra["AZURE_ML_INPUT_" + name] = local
        outputs = {}
        for name, out in (props.get("outputs") or {}).items():
            local = os.path.join(workdir, "outputs", name)
            os.makedirs(local, exist_ok=True)
            if out.get("jobOutputType") == "uri_file":
                local = os.path.join(local, name)
            outputs[name] = (out, local)
            subst["outputs." + name] = local
            env_extra["AZURE_ML_OUTPUT_" + name] = local
        command = props["command"]

        def replace(m):
            key = m.group(1).strip()
            if key not in subst:
                raise JobFailure("The command references ${{%s}} but the job defines no such input or output." % key)
            return subst[key]
        command = re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", replace, command)
        env = self._environment(run, env_extra)
        return workdir, code_dir, outputs, command, env

    def _check_environment(self, ws, env_id):
        if not env_id:
            raise JobFailure("The job has no environmentId.")
        if env_id.startswith("azureml://registries/") or env_id.startswith("azureml:AzureML-"):
            return
        m = re.search(r"/environments/([^/]+)/versions/([^/]+)$", env_id) or re.match(r"^azureml:([^:@]+)[:@]([^:@]+)$", env_id)
        if m is None:
            raise JobFailure("Environment '%s' is not a valid environment reference." % env_id, "UserError")
        name, version = m.groups()
        cont = ws.assets["environments"].get(name)
        if cont is None or (version != "latest" and version not in cont["versions"]):
            raise JobFailure("Environment %s:%s was not found in workspace %s." % (name, version, ws.name))

    def _resolve_version(self, ws, kind, ref):
        m = re.search(r"/%s/([^/]+)/versions/([^/]+)$" % kind, ref) or re.match(r"^azureml:([^:@/]+)[:@]([^:@/]+)$", ref)
        if m is None:
            return None
        name, version = m.groups()
        cont = ws.assets[kind].get(name)
        if cont is None:
            return None
        if version == "latest" and cont["versions"]:
            return max(cont["versions"].values(), key=lambda r: r["seq"])
        return cont["versions"].get(version)

    def _blob_location(self, ws, uri):
        """(account, container, prefix) of an azureml:// datastore path or a blob URL in the sandbox."""
        m = re.match(r"^https://([a-z0-9]+)\.blob\.core\.windows\.net/([^/?]+)/?([^?]*)", uri)
        if m:
            if m.group(1) not in self.app.accounts:
                raise JobFailure("Storage account %s is not reachable from the sandbox." % m.group(1))
            return m.group(1), m.group(2), m.group(3)
        m = re.match(r"^azureml://(?:subscriptions/[^/]+/resource[gG]roups/[^/]+/(?:providers/Microsoft\.MachineLearningServices/)?workspaces/[^/]+/)?datastores/([^/]+)/paths/(.*)$", uri)
        if m:
            ds = ws.datastores.get(m.group(1))
            if ds is None:
                raise JobFailure("Datastore %s not found." % m.group(1))
            return ds["properties"]["accountName"], ds["properties"]["containerName"], m.group(2)
        m = re.match(r"^azureml://jobs/([^/]+)/outputs/artifacts/paths/(.*)$", uri)
        if m:
            return cfg.WORKSPACE_STORAGE_ACCOUNT, cfg.ARTIFACT_CONTAINER, "ExperimentRun/dcid.%s/%s" % m.groups()
        raise JobFailure("Unsupported URI '%s'." % uri)

    def _download_prefix(self, account, container, prefix, dest, single=False):
        from urllib.parse import unquote
        prefix = unquote(prefix)
        blobs = self.app.blob.list_blobs(account, container, prefix)
        if single or (len(blobs) == 1 and blobs[0][0] == prefix):
            match = [b for b in blobs if b[0] == prefix]
            if not match:
                raise JobFailure("The file %s/%s/%s does not exist." % (account, container, prefix))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            self.app.blob.download_to(account, container, prefix, dest)
            return dest
        base = prefix.rstrip("/") + "/" if prefix else ""
        if not blobs:
            raise JobFailure("The folder %s/%s/%s is empty or does not exist." % (account, container, prefix))
        for name, _ in blobs:
            if base and not name.startswith(base):
                continue
            rel = name[len(base):]
            if not rel or ".." in rel.split("/"):
                continue
            target = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            self.app.blob.download_to(account, container, name, target)
        return dest

    def _fetch_code(self, ws, code_id, code_dir):
        ver = self._resolve_version(ws, "codes", code_id)
        if ver is None:
            raise JobFailure("Code asset '%s' was not found." % code_id)
        uri = ver["properties"].get("codeUri")
        if not uri:
            raise JobFailure("Code asset '%s' has no codeUri." % code_id)
        account, container, prefix = self._blob_location(ws, uri)
        tmp = code_dir + ".dl"
        self._download_prefix(account, container, prefix, tmp)
        if os.path.isfile(tmp):
            shutil.move(tmp, os.path.join(code_dir, os.path.basename(prefix)))
        else:
            for entry in os.listdir(tmp):
                shutil.move(os.path.join(tmp, entry), os.path.join(code_dir, entry))
            shutil.rmtree(tmp, ignore_errors=True)

    def _fetch_input(self, ws, name, inp, dest):
        uri = inp.get("uri") or ""
        kind = inp.get("jobInputType")
        if kind in ("custom_model", "mlflow_model", "triton_model"):
            # A registered model version: its files, wherever modelUri keeps them.
            ref = uri[len("azureml:"):] if uri.startswith("azureml:/") else uri
            ver = self._resolve_version(ws, "models", ref)
            if ver is None:
                raise JobFailure("Model '%s' for input '%s' was not found." % (uri, name))
            uri = self.app.azureml._model_uri(ws, ver)
        elif uri.startswith("azureml:") and not uri.startswith("azureml://") or "/data/" in uri and "/versions/" in uri:
            ver = self._resolve_version(ws, "data", uri[len("azureml:"):] if uri.startswith("azureml:/") else uri)
            if ver is None:
                raise JobFailure("Data asset '%s' for input '%s' was not found." % (uri, name))
            uri = ver["properties"]["dataUri"]
        try:
            account, container, prefix = self._blob_location(ws, uri)
        except JobFailure as exc:
            raise JobFailure("Input '%s': %s" % (name, exc))
        try:
            if kind == "uri_file":
                return self._download_prefix(account, container, prefix, os.path.join(dest, os.path.basename(prefix)), single=True)
            return self._download_prefix(account, container, prefix, dest)
        except BlobError as exc:
            raise JobFailure("Input '%s' could not be downloaded: %s" % (name, exc.code))

    def _environment(self, run, extra):
        app = self.app
        ws = run.ws
        props = run.job["properties"]
        token, _, _ = app.entra.issue("https://management.azure.com", cfg.MI_CLIENT_ID, cfg.MI_PRINCIPAL_ID, "2",
                                      lifetime=max(3600, int(app.settings["job_timeout_seconds"]) + 600))
        tracking = "https://%s.api.azureml.ms/mlflow/v1.0%s" % (ws.location, app.azureml.ws_id(ws))
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": JOBENV_DIR,
            "HTTPS_PROXY": "http://127.0.0.1:%d" % app.conf["ports"]["proxy"],
            "https_proxy": "http://127.0.0.1:%d" % app.conf["ports"]["proxy"],
            "NO_PROXY": "127.0.0.1,localhost", "SSL_CERT_FILE": app.conf["ca_cert"], "CURL_CA_BUNDLE": app.conf["ca_cert"],
            "REQUESTS_CA_BUNDLE": app.conf["ca_cert"],
            "MLFLOW_TRACKING_URI": tracking, "MLFLOW_TRACKING_TOKEN": token, "AZUREML_RUN_TOKEN": token,
            "MLFLOW_RUN_ID": run.name, "MLFLOW_EXPERIMENT_NAME": props.get("experimentName", "Default"),
            "AZUREML_RUN_ID": run.name, "AZUREML_ARM_SUBSCRIPTION": app.subscription_id,
            "AZUREML_ARM_RESOURCEGROUP": ws.rg, "AZUREML_ARM_WORKSPACE_NAME": ws.name,
            "AZUREML_ARM_PROJECT_NAME": props.get("experimentName", "Default"),
            "AZUREML_SERVICE_ENDPOINT": "https://%s.api.azureml.ms" % ws.location,
            "AZUREML_SANDBOX": "1",
        }
        env.update(extra)
        env.update({k: str(v) for k, v in (props.get("environmentVariables") or {}).items()})
        return env

    # -- running ----------------------------------------------------------------------------

    def _log_blob(self, run, rank=None):
        """The user log: std_log.txt, or one std_log_process_<rank>.txt per process of a
        distributed job (rank 0's by default), as Azure ML names them."""
        if rank is None and getattr(run, "distributed", False):
            rank = 0
        leaf = "std_log.txt" if rank is None else "std_log_process_%d.txt" % rank
        return "ExperimentRun/dcid.%s/user_logs/%s" % (run.name, leaf)

    def _append_log(self, run, text, rank=None):
        if not text:
            return
        data = text.encode() if isinstance(text, str) else text
        blob = self._log_blob(run, rank)
        try:
            if blob not in run.logs_created:
                self.app.blob.append_blob_create(cfg.WORKSPACE_STORAGE_ACCOUNT, cfg.ARTIFACT_CONTAINER, blob)
                run.logs_created.add(blob)
            for i in range(0, len(data), 4 << 20):       # an append block holds at most 4 MiB
                self.app.blob.append_block(cfg.WORKSPACE_STORAGE_ACCOUNT, cfg.ARTIFACT_CONTAINER, blob, data[i:i + (4 << 20)])
        except BlobError as exc:
            self.app.log("job %s: cannot append log: %s" % (run.name, exc))

    def _time_limit(self, run):
        """(seconds, declared): the job's limits.timeout when it is the tighter bound,
        else the sandbox's own cap."""
        cap = float(self.app.settings["job_timeout_seconds"])
        declared = parse_duration(((run.job["properties"].get("limits") or {}).get("timeout")) or "")
        if declared and declared <= cap:
            return declared, True
        return cap, False

    def _timed_out(self, limit, declared):
        if declared:
            return JobTimedOut("The job ran past its limits.timeout of %d seconds and was canceled." % limit)
        return JobFailure("The job exceeded its time limit of %d seconds and was stopped." % limit, "JobTimeout")

    def _execute(self, run, workdir, code_dir, command, env):
        limit, declared = self._time_limit(run)
        with run.lock:
            run.proc = subprocess.Popen(["bash", "-c", command], cwd=code_dir, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        proc = run.proc
        buffer = bytearray()
        buf_lock = threading.Lock()
        done = threading.Event()

        def reader():
            self._read_process(run, None, proc, os.path.join(workdir, "std_log.txt"), buffer, buf_lock)
            done.set()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        deadline = time.time() + limit
        timed_out = False
        while not done.wait(LOG_FLUSH_SECONDS):
            with buf_lock:
                data = bytes(buffer)
                buffer.clear()
            self._append_log(run, data)
            if time.time() > deadline:
                timed_out = True
                self._kill(run)
        t.join(timeout=5)
        rc = proc.wait()
        with buf_lock:
            data = bytes(buffer)
            buffer.clear()
        self._append_log(run, data)
        if timed_out:
            raise self._timed_out(limit, declared)
        return rc

    def _execute_distributed(self, run, workdir, code_dir, command, env, plan):
        """The command once per process of `plan`, each with its rank's environment and
        its own log; the job's exit status is the first failing process's (the others
        are then stopped, as Azure ML ends the job), 0 when all succeeded."""
        limit, declared = self._time_limit(run)
        run.distributed = True
        buffers = [bytearray() for _ in plan]
        buf_lock = threading.Lock()
        with run.lock:
            for extra in plan:
                penv = dict(env)
                penv.update(extra)
                run.procs.append(subprocess.Popen(["bash", "-c", command], cwd=code_dir, env=penv,
                                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                  stderr=subprocess.STDOUT, start_new_session=True))
        readers = [threading.Thread(target=self._read_process, daemon=True,
                                    args=(run, rank, proc, os.path.join(workdir, "std_log_process_%d.txt" % rank),
                                          buffers[rank], buf_lock))
                   for rank, proc in enumerate(run.procs)]
        for t in readers:
            t.start()

        def flush():
            with buf_lock:
                chunks = [bytes(b) for b in buffers]
                for b in buffers:
                    b.clear()
            for rank, data in enumerate(chunks):
                self._append_log(run, data, rank)

        deadline = time.time() + limit
        timed_out = False
        while any(t.is_alive() for t in readers):
            time.sleep(LOG_FLUSH_SECONDS)
            flush()
            if getattr(run, "failed_rank", None) is None:
                for rank, proc in enumerate(run.procs):
                    if proc.poll():
                        run.failed_rank = rank
                        self._kill(run)
                        break
            if time.time() > deadline and not timed_out:
                timed_out = True
                self._kill(run)
        for t in readers:
            t.join(timeout=5)
        codes = [proc.wait() for proc in run.procs]
        flush()
        if timed_out:
            raise self._timed_out(limit, declared)
        failed = getattr(run, "failed_rank", None)
        return codes[failed] if failed is not None else next((c for c in codes if c), 0)

    def _read_process(self, run, rank, proc, local_path, buffer, buf_lock):
        """Copies the process's output to `local_path` and to `buffer`, which the caller
        flushes to the log blob of `rank` (None: the job's one log)."""
        with open(local_path, "wb") as local:
            for line in iter(proc.stdout.readline, b""):
                local.write(line)
                with buf_lock:
                    buffer.extend(line)
                    if len(buffer) > (8 << 20):     # bounded: flush inline when a burst piles up
                        data = bytes(buffer)
                        buffer.clear()
                        self._append_log(run, data, rank)

    def _kill(self, run):
        with run.lock:
            procs = list(run.procs) or [run.proc]
        for proc in procs:
            self._kill_one(proc)

    def _kill_one(self, proc):
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return

        def reaper():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        threading.Thread(target=reaper, daemon=True).start()

    def _upload_dir(self, local, container, prefix, account=cfg.WORKSPACE_STORAGE_ACCOUNT):
        for root, _, files in os.walk(local):
            for f in files:
                path = os.path.join(root, f)
                rel = os.path.relpath(path, local).replace(os.sep, "/")
                with open(path, "rb") as fh:
                    data = fh.read()
                self.app.blob.put_blob(account, container, prefix + rel, data)

    def _upload_outputs(self, run, code_dir, outputs):
        art = "ExperimentRun/dcid.%s/" % run.name
        for sub in ("outputs", "logs"):
            d = os.path.join(code_dir, sub)
            if os.path.isdir(d):
                self._upload_dir(d, cfg.ARTIFACT_CONTAINER, art + sub + "/")
        for name, (out, local) in outputs.items():
            folder = local if os.path.isdir(local) else os.path.dirname(local)
            # Named outputs land on the default datastore as Azure ML puts them, and (a
            # sandbox convenience) also as run artifacts at <output name>/, so that
            # azureml://jobs/<job>/outputs/artifacts/paths/<name>/ resolves.
            self._upload_dir(folder, cfg.WORKSPACE_BLOB_CONTAINER, "azureml/%s/%s/" % (run.name, name))
            self._upload_dir(folder, cfg.ARTIFACT_CONTAINER, art + name + "/")
            if not out.get("uri"):
                out["uri"] = "azureml://datastores/workspaceblobstore/paths/azureml/%s/%s/" % (run.name, name)


class _Canceled(Exception):
    pass


class JobTimedOut(Exception):
    pass
