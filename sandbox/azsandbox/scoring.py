"""Online deployments really serve: one scoring process per deployment.

When a deployment's PUT is accepted, a Runtime plays the two containers of
a managed online deployment. The storage initializer downloads the model
version's files from the workspace storage into a private folder
(SANDBOX_DIR/deployments/<endpoint>/<deployment>/<n>/), laid out as Azure
ML lays it out: AZUREML_MODEL_DIR is azureml-models/<model>/<version> and
the model's folder (the last segment of its URI) sits under it. The
inference server is this file run by the host's python3: it imports the
code asset's scoring script, calls init() once, then run(raw_body) once
per request, and JSON-encodes what run() returns as
azureml-inference-server-http does (a str too: it comes back quoted).

Protocol: requests are JSON lines on the worker's stdin ({"id", "body"});
answers and events ({"event": "ready" | "init_failed"}) are JSON lines on
a pipe of their own (fd given on the command line), so that whatever the
script prints goes to the logs and never into an answer. One request at a
time per deployment (max_concurrent_requests_per_instance 1): callers
queue on a lock. The script's stdout and stderr are the InferenceServer
logs (last LOG_LINES lines kept).

The worker exits when its stdin closes, so even an emulator killed with
SIGKILL leaves no scoring process behind; stop() and the atexit hook end
them at once otherwise.
"""
import atexit
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

LOG_LINES = 5000
INIT_TIMEOUT_SECONDS = 120
RUN_ERROR = "An unexpected error occurred in scoring script. Check the logs for more info."
CRASHED = ("User container has crashed or terminated. Please see troubleshooting guide, available here: "
           "https://aka.ms/oe-tsg#error-resourcenotready")


def _stamp():
    t = time.time()
    return "%s,%03d" % (time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)), int(t * 1000) % 1000)


class Logs:
    """A deployment's container logs: bounded, appended by several threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.lines = {"InferenceServer": collections.deque(maxlen=LOG_LINES),
                      "StorageInitializer": collections.deque(maxlen=LOG_LINES)}

    def add(self, container, line):
        with self.lock:
            self.lines[container].append(line.rstrip("\n"))

    def get(self, container):
        with self.lock:
            return list(self.lines.get(container, ()))


class Runtime:
    """One deployment's storage initializer + inference server.

    `prepare(model_dir, code_dir, log)` fills the model and code folders
    (it raises RuntimeError with a message on failure); `on_ready(error)`
    is called once, with None when init() completed, else the operation
    error Azure would report."""

    def __init__(self, manager, label, folder, logs, script, env, timeout_s):
        self.manager = manager
        self.label = label
        self.folder = folder
        self.logs = logs
        self.script = script
        self.env = env
        self.timeout_s = timeout_s
        self.state = "Starting"
        self.proc = None
        self.lock = threading.Lock()          # one request at a time
        self.cond = threading.Condition()
        self.answers = {}
        self.next_id = 0
        self.ready = threading.Event()
        self.error = None

    # -- start ------------------------------------------------------------------

    def start(self, prepare, model_subdir, on_ready=None):
        def run():
            err = self._boot(prepare, model_subdir)
            self.error = err
            self.ready.set()
            if on_ready:
                on_ready(err)
        threading.Thread(target=run, name="scoring-" + self.label, daemon=True).start()

    def _boot(self, prepare, model_subdir):
        model_dir = os.path.join(self.folder, "azureml-models", model_subdir)
        code_dir = os.path.join(self.folder, "code")
        try:
            shutil.rmtree(self.folder, ignore_errors=True)
            os.makedirs(model_dir)
            os.makedirs(code_dir)
            prepare(model_dir, code_dir, lambda line: self.logs.add("StorageInitializer", "%s | INFO | %s" % (_stamp(), line)))
        except RuntimeError as exc:
            self.logs.add("StorageInitializer", "%s | ERROR | %s" % (_stamp(), exc))
            self.state = "Failed"
            return {"code": "ResourceNotReady", "message": "%s The storage initializer failed: %s" % (CRASHED, exc)}
        script = os.path.normpath(os.path.join(code_dir, self.script or ""))
        if not self.script or not script.startswith(code_dir + os.sep) or not os.path.isfile(script):
            self.logs.add("InferenceServer", "%s | ERROR | Scoring script %s not found in the code asset" % (_stamp(), self.script))
            self.state = "Failed"
            return {"code": "ResourceNotReady", "message": "%s The scoring script '%s' was not found." % (CRASHED, self.script)}
        return self._spawn(script, code_dir, model_dir)

    def _spawn(self, script, code_dir, model_dir):
        r, w = os.pipe()
        env = dict(self.env)
        env.update({"AZUREML_MODEL_DIR": model_dir, "AZUREML_ENTRY_SCRIPT": os.path.relpath(script, code_dir)})
        with self.manager.lock:
            if self.state == "Stopped":
                os.close(r)
                os.close(w)
                return {"code": "Canceled", "message": "The deployment was removed while starting."}
            self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), script, code_dir, str(w)],
                                         cwd=code_dir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, pass_fds=(w,), start_new_session=True)
        os.close(w)
        threading.Thread(target=self._read_logs, daemon=True).start()
        events = os.fdopen(r, "r", encoding="utf-8")
        first = self._read_event(events)
        if first.get("event") != "ready":
            self.state = "Failed"
            self.stop()
            detail = first.get("error") or "the scoring process exited"
            return {"code": "ResourceNotReady", "message": "%s init() failed: %s" % (CRASHED, detail)}
        self.state = "Ready"
        threading.Thread(target=self._read_answers, args=(events,), daemon=True).start()
        return None

    def _read_event(self, events):
        box = {}

        def reader():
            line = events.readline()
            try:
                box["event"] = json.loads(line) if line else {}
            except ValueError:
                box["event"] = {}
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(INIT_TIMEOUT_SECONDS)
        if t.is_alive():
            return {"error": "the readiness probe failed: init() did not complete within %d seconds" % INIT_TIMEOUT_SECONDS}
        return box.get("event", {})

    def _read_logs(self):
        for raw in iter(self.proc.stdout.readline, b""):
            self.logs.add("InferenceServer", raw.decode("utf-8", "replace"))

    def _read_answers(self, events):
        for line in events:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.answers[msg.get("id")] = msg
                self.cond.notify_all()
        with self.cond:
            if self.state == "Ready":
                self.state = "Crashed"
            self.cond.notify_all()

    # -- serve ------------------------------------------------------------------

    def score(self, body):
        """(status, body bytes, extra headers) of one request."""
        self.ready.wait(INIT_TIMEOUT_SECONDS)
        with self.lock:
            if self.state != "Ready":
                return 502, json.dumps({"message": "The deployment's container is not running (%s)." % self.state}).encode(), []
            self.next_id += 1
            rid = self.next_id
            line = json.dumps({"id": rid, "body": body.decode("utf-8", "replace")}) + "\n"
            try:
                self.proc.stdin.write(line.encode())
                self.proc.stdin.flush()
            except (OSError, ValueError):
                return 502, json.dumps({"message": "The deployment's container is not running."}).encode(), []
            deadline = time.time() + self.timeout_s
            with self.cond:
                while rid not in self.answers and self.state == "Ready" and time.time() < deadline:
                    self.cond.wait(max(0.01, deadline - time.time()))
                msg = self.answers.pop(rid, None)
                # An answer that comes after its request timed out is dropped when it arrives.
                self.answers = {k: v for k, v in self.answers.items() if k > rid}
        if msg is None:
            if self.state != "Ready":
                return 502, json.dumps({"message": "The deployment's container crashed while scoring."}).encode(), []
            return 408, json.dumps({"message": "Request timed out after %d ms." % int(self.timeout_s * 1000)}).encode(), []
        headers = [("x-ms-run-function-failed", "True")] if msg.get("status") != 200 else []
        return msg.get("status", 500), msg.get("body", "").encode(), headers

    def stop(self):
        with self.manager.lock:
            self.state = "Stopped" if self.state != "Failed" else self.state
            proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Scoring:
    """Every deployment's runtime, so that reset and exit stop them all."""

    def __init__(self, root):
        self.root = root
        self.lock = threading.RLock()
        self.runtimes = {}
        atexit.register(self.shutdown)

    def start(self, key, logs, script, env, timeout_s, prepare, model_subdir, on_ready=None):
        self.stop(key)
        with self.lock:
            seq = getattr(self, "_seq", 0) + 1
            self._seq = seq
            folder = os.path.join(self.root, *[_safe(k) for k in key[-2:]]) + "-%d" % seq
            rt = Runtime(self, "/".join(key[-2:]), folder, logs, script, env, timeout_s)
            self.runtimes[key] = rt
        rt.start(prepare, model_subdir, on_ready)
        return rt

    def get(self, key):
        with self.lock:
            return self.runtimes.get(key)

    def stop(self, key):
        with self.lock:
            rt = self.runtimes.pop(key, None)
        if rt is not None:
            rt.stop()

    def stop_prefix(self, prefix):
        with self.lock:
            keys = [k for k in self.runtimes if k[:len(prefix)] == prefix]
        for k in keys:
            self.stop(k)

    def shutdown(self):
        with self.lock:
            keys = list(self.runtimes)
        for k in keys:
            self.stop(k)
        shutil.rmtree(self.root, ignore_errors=True)


def _safe(part):
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(part)) or "_"


# -- the worker: `python3 scoring.py SCRIPT CODE_DIR EVENT_FD` -----------------------------------

def _log(message, level="I"):
    sys.stderr.write("%s %s [%d] azmlinfsrv - %s\n" % (_stamp(), level, os.getpid(), message))
    sys.stderr.flush()


def worker(script, code_dir, event_fd):
    import importlib.util
    import traceback
    events = os.fdopen(event_fd, "w", encoding="utf-8", buffering=1)
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)          # the script may not read the request channel
    _log("Starting AzureML Inference Server (sandbox: python %s)" % sys.version.split()[0])
    _log("Entry script: %s; AZUREML_MODEL_DIR: %s" % (os.environ.get("AZUREML_ENTRY_SCRIPT"), os.environ.get("AZUREML_MODEL_DIR")))
    sys.path.insert(0, code_dir)
    try:
        spec = importlib.util.spec_from_file_location("entry_module", script)
        module = importlib.util.module_from_spec(spec)
        sys.modules["entry_module"] = module
        spec.loader.exec_module(module)
        _log("Found user script at %s" % script)
        if not callable(getattr(module, "run", None)):
            raise AttributeError("The entry script has no run() function")
        if callable(getattr(module, "init", None)):
            _log("Invoking user's init function")
            module.init()
    except BaseException as exc:
        traceback.print_exc()
        _log("User's init function failed", "E")
        _log("Encountered Exception %s" % "".join(traceback.format_exception_only(type(exc), exc)).strip(), "E")
        events.write(json.dumps({"event": "init_failed", "error": "".join(traceback.format_exception_only(type(exc), exc)).strip()}) + "\n")
        return 1
    _log("Users's init has completed successfully")
    _log("Listening at: http://0.0.0.0:31311 (sandbox)")
    events.write(json.dumps({"event": "ready"}) + "\n")
    for line in requests:
        try:
            req = json.loads(line)
        except ValueError:
            continue
        try:
            status, body = 200, json.dumps(module.run(req.get("body", "")))
        except Exception:
            traceback.print_exc()
            _log("Encountered Exception while running the user's run function", "E")
            status, body = 500, json.dumps({"message": RUN_ERROR})
        events.write(json.dumps({"id": req.get("id"), "status": status, "body": body}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(worker(sys.argv[1], sys.argv[2], int(sys.argv[3])))
