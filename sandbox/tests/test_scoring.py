"""Online deployments run their scoring script: init() once, run() per request,
logs, failures, routing by header and traffic, mirroring, the unhealthy fault,
and the scoring process's end with its deployment."""
import json
import os
import sys
import tempfile
import types

from .helpers import SandboxTest, call, control, wait_for, ws_url

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROBE = b"""import json, os, time
files = None
def init():
    global files
    if os.environ.get("FAIL_INIT"):
        raise ValueError("init refused: " + os.environ["FAIL_INIT"])
    root = os.environ["AZUREML_MODEL_DIR"]
    files = sorted(os.path.relpath(os.path.join(r, f), root) for r, _, fs in os.walk(root) for f in fs)
    print("probe init saw", len(files), "files")
def run(raw):
    data = json.loads(raw)
    print("probe scoring", raw)
    if data.get("boom"):
        raise RuntimeError("boom requested by the test")
    if data.get("text"):
        return "plain text"
    if data.get("sleep"):
        time.sleep(data["sleep"])
    if data.get("exit"):
        os._exit(3)
    return {"pid": os.getpid(), "files": files, "greeting": os.environ.get("GREETING"),
            "model_dir": os.environ["AZUREML_MODEL_DIR"], "echo": data}
"""


def arm_id(url):
    return url.split("?")[0].replace("https://management.azure.com", "")


def model_files():
    """The MLflow model folder training/train.py writes, with made-up weights."""
    sys.modules.setdefault("mlflow", types.ModuleType("mlflow"))
    sys.path.insert(0, os.path.join(REPO, "training"))
    try:
        import train
    finally:
        sys.path.pop(0)
    out = {}
    with tempfile.TemporaryDirectory() as d:
        train.write_mlmodel(d, 0.81, 0.86)
        spec = {"kind": "logistic_regression", "features": train.NUMERIC + ["contract=" + c for c in train.CONTRACTS],
                "mean": [24, 60, 2, 0, 0, 0], "std": [20, 20, 1.5, 1, 1, 1],
                "weights": [-1.2, 0.8, 0.9, 0.7, -0.3, -0.8], "bias": -0.2, "threshold": 0.5}
        with open(os.path.join(d, "model.json"), "w") as f:
            json.dump(spec, f)
        for root, _, files in os.walk(d):
            for name in files:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, d)] = f.read()
    return out


class ScoringTests(SandboxTest):
    def setUp(self):
        super().setUp()
        env = {"properties": {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"}}
        self.assertEqual(call("PUT", ws_url("/environments/inference-env/versions/1"), body=env, token=self.tok).status, 201)
        with open(os.path.join(REPO, "deployments", "score.py"), "rb") as f:
            score = f.read()
        self.code_id = self.upload("codes", "src", {"score.py": score, "probe.py": PROBE}, "codeUri", "")
        self.model_id = self.upload("models", "churn-classifier", model_files(), "modelUri", "/model")

    def upload(self, kind, name, files, field, sub):
        url = ws_url("/%s/%s/versions/1" % (kind, name))
        r = call("POST", ws_url("/%s/%s/versions/1/startPendingUpload" % (kind, name)),
                 body={"pendingUploadType": "TemporaryBlobReference"}, token=self.tok)
        ref = r.json()["blobReferenceForConsumption"]
        base, _, sas = ref["credential"]["sasUri"].partition("?")
        for path, data in files.items():
            put = call("PUT", "%s%s/%s?%s" % (base, sub, path, sas), raw=data, headers={"x-ms-blob-type": "BlockBlob"})
            self.assertEqual(put.status, 201, put.body)
        props = {field: ref["blobUri"] + sub}
        if kind == "models":
            props["modelType"] = "mlflow_model"
        self.assertEqual(call("PUT", url, body={"properties": props}, token=self.tok).status, 201)
        return arm_id(url)

    def wait_state(self, url, wanted=("Succeeded", "Failed"), timeout=60):
        def state():
            body = call("GET", url, token=self.tok).json()
            return body if body["properties"]["provisioningState"] in wanted else None
        return wait_for(state, timeout, 0.1)

    def endpoint(self, name, traffic=None, mirror=None):
        body = {"location": "eastus", "identity": {"type": "SystemAssigned"},
                "properties": {"authMode": "Key", "traffic": traffic or {}, "mirrorTraffic": mirror or {}}}
        r = call("PUT", ws_url("/onlineEndpoints/" + name), body=body, token=self.tok)
        self.assertIn(r.status, (200, 201), r.body)
        self.assertEqual(self.wait_state(ws_url("/onlineEndpoints/" + name))["properties"]["provisioningState"], "Succeeded")
        return call("POST", ws_url("/onlineEndpoints/%s/listKeys" % name), token=self.tok).json()["primaryKey"]

    def deploy(self, ep, name, script="probe.py", env=None, model=None, **extra):
        props = {"endpointComputeType": "Managed", "model": model or self.model_id, "instanceType": "Standard_DS3_v2",
                 "codeConfiguration": {"codeId": self.code_id, "scoringScript": script},
                 "environmentId": "azureml:inference-env:1", "environmentVariables": env or {}}
        props.update(extra)
        url = ws_url("/onlineEndpoints/%s/deployments/%s" % (ep, name))
        r = call("PUT", url, body={"location": "eastus", "sku": {"name": "Default", "capacity": 1}, "properties": props}, token=self.tok)
        self.assertIn(r.status, (200, 201), r.body)
        self.assertEqual(r.json()["properties"]["provisioningState"], "Creating")
        return r, self.wait_state(url)

    def score(self, ep, key, body, deployment=None):
        headers = {"azureml-model-deployment": deployment} if deployment else {}
        return call("POST", "https://%s.eastus.inference.ml.azure.com/score" % ep, body=body, token=key, headers=headers)

    def logs(self, ep, dep, container="InferenceServer"):
        r = call("POST", ws_url("/onlineEndpoints/%s/deployments/%s/getLogs" % (ep, dep)),
                 body={"containerType": container}, token=self.tok)
        return r.json()["content"]

    def test_the_example_scoring_script_answers_with_the_model(self):
        key = self.endpoint("churn", {})
        _, dep = self.deploy("churn", "blue", "score.py")
        self.assertEqual(dep["properties"]["provisioningState"], "Succeeded", dep)
        call("PUT", ws_url("/onlineEndpoints/churn"), token=self.tok, body={
            "location": "eastus", "identity": {"type": "SystemAssigned"}, "properties": {"authMode": "Key", "traffic": {"blue": 100}}})
        self.wait_state(ws_url("/onlineEndpoints/churn"))
        with open(os.path.join(REPO, "deployments", "smoke-request.json")) as f:
            request = json.load(f)
        r = self.score("churn", key, request)
        self.assertEqual(r.status, 200, r.body)
        got = r.json()
        self.assertEqual(got["predictions"], [1, 0])
        self.assertGreater(got["probabilities"][0], 0.5)
        self.assertEqual(r.header("azureml-model-deployment"), "blue")
        self.assertTrue(r.header("x-request-id") and r.header("x-request-id") == r.header("x-ms-request-id"))
        self.assertIn("churn model loaded from", self.logs("churn", "blue"))
        self.assertIn("Users's init has completed successfully", self.logs("churn", "blue"))
        self.assertIn("Model download complete", self.logs("churn", "blue", "StorageInitializer"))
        bad = self.score("churn", key, {"rows": []})
        self.assertEqual(bad.status, 500)
        self.assertIn("ValueError: expected", self.logs("churn", "blue"))

    def test_probe_sees_model_dir_env_and_run_errors_are_500(self):
        key = self.endpoint("probe", {})
        self.deploy("probe", "green", env={"GREETING": "hello"})
        r = self.score("probe", key, {"x": 1}, deployment="green")     # 0% traffic: the header still reaches it
        self.assertEqual(r.status, 200, r.body)
        got = r.json()
        self.assertEqual((got["greeting"], got["echo"]), ("hello", {"x": 1}))
        self.assertTrue(got["model_dir"].endswith(os.path.join("azureml-models", "churn-classifier", "1")), got["model_dir"])
        self.assertIn(os.path.join("model", "MLmodel"), got["files"])
        self.assertEqual(self.score("probe", key, {"text": 1}, deployment="green").json(), "plain text")
        boom = self.score("probe", key, {"boom": 1}, deployment="green")
        self.assertEqual(boom.status, 500)
        self.assertIn("unexpected error occurred in scoring script", boom.json()["message"])
        self.assertIn("RuntimeError: boom requested by the test", self.logs("probe", "green"))
        self.assertEqual(self.score("probe", key, {"x": 2}, deployment="green").status, 200)   # still serving
        self.assertEqual(self.score("probe", "wrong-key", {"x": 1}, deployment="green").status, 401)
        self.assertEqual(self.score("probe", key, {"x": 1}).status, 424)        # no traffic, no header

    def test_init_raising_fails_the_deployment_with_the_traceback_logged(self):
        self.endpoint("broken", {})
        r, dep = self.deploy("broken", "red", env={"FAIL_INIT": "on purpose"})
        self.assertEqual(dep["properties"]["provisioningState"], "Failed")
        status = call("GET", r.header("Azure-AsyncOperation"), token=self.tok).json()
        self.assertEqual((status["status"], status["error"]["code"]), ("Failed", "ResourceNotReady"))
        self.assertIn("User container has crashed or terminated", status["error"]["message"])
        logs = self.logs("broken", "red")
        self.assertIn("Traceback (most recent call last)", logs)
        self.assertIn("ValueError: init refused: on purpose", logs)

    def test_traffic_split_and_mirror(self):
        key = self.endpoint("split", {})
        self.deploy("split", "blue")
        self.deploy("split", "green")
        call("PUT", ws_url("/onlineEndpoints/split"), token=self.tok, body={
            "location": "eastus", "identity": {"type": "SystemAssigned"},
            "properties": {"authMode": "Key", "traffic": {"blue": 100}, "mirrorTraffic": {"green": 50}}})
        self.assertEqual(self.wait_state(ws_url("/onlineEndpoints/split"))["properties"]["mirrorTraffic"], {"green": 50})
        for i in range(30):
            r = self.score("split", key, {"n": i})
            self.assertEqual((r.status, r.header("azureml-model-deployment")), (200, "blue"))
        mirrored = wait_for(lambda: self.logs("split", "green").count("probe scoring"), 10)
        self.assertLess(mirrored, 30)          # a share, not every request (P(30 of 30) = 1e-9)
        self.assertEqual(self.logs("split", "blue").count("probe scoring"), 30)

    def test_unhealthy_fault_fails_a_share_of_requests(self):
        key = self.endpoint("sick", {})
        self.deploy("sick", "blue")
        rule = control("POST", "/faults", {"kind": "unhealthy", "endpoint": "sick", "deployment": "blue",
                                           "error_share": 0.5, "status": 503, "latency_ms": 1})["faults"][0]
        codes = [self.score("sick", key, {"n": i}, deployment="blue").status for i in range(40)]
        self.assertEqual(set(codes), {200, 503})
        self.assertTrue(5 <= codes.count(503) <= 35, codes)
        self.assertEqual([f for f in control("GET", "/faults")["faults"] if f["id"] == rule["id"]][0]["applied"], 40)
        control("DELETE", "/faults")
        control("POST", "/faults", {"kind": "unhealthy", "endpoint": "sick", "deployment": "blue", "status": 502})
        self.assertEqual(self.score("sick", key, {"n": 1}, deployment="blue").status, 502)
        self.assertEqual(control("POST", "/faults", {"kind": "unhealthy", "endpoint": "sick"})["status"], 400)

    def test_deleting_the_deployment_or_endpoint_stops_its_process(self):
        key = self.endpoint("gone", {})
        self.deploy("gone", "blue")
        self.deploy("gone", "green")
        pids = [self.score("gone", key, {}, deployment=d).json()["pid"] for d in ("blue", "green")]
        for pid in pids:
            os.kill(pid, 0)        # running
        state = control("GET", "/state")["azureml"]
        self.assertEqual(sorted(list(state.values())[0]["onlineEndpoints"]["gone"]["deployments"]), ["blue", "green"])
        r = call("DELETE", ws_url("/onlineEndpoints/gone/deployments/blue"), token=self.tok)
        self.assertEqual(r.status, 202)
        wait_for(lambda: call("GET", r.header("Location"), token=self.tok).status == 204, 20)
        self.assertFalse(alive(pids[0]))
        self.assertTrue(alive(pids[1]))
        r = call("DELETE", ws_url("/onlineEndpoints/gone"), token=self.tok)
        wait_for(lambda: call("GET", r.header("Location"), token=self.tok).status == 204, 20)
        self.assertFalse(alive(pids[1]))
        self.assertEqual(self.score("gone", key, {}).status, 404)

    def test_requests_queue_one_at_a_time_and_a_late_answer_is_not_misdelivered(self):
        import threading
        key = self.endpoint("queue", {})
        self.deploy("queue", "blue", requestSettings={"requestTimeout": "PT2S"})
        got = {}

        def one(i):
            got[i] = self.score("queue", key, {"n": i}, deployment="blue").json()["echo"]["n"]
        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(got, {i: i for i in range(8)})
        slow = self.score("queue", key, {"sleep": 2.6}, deployment="blue")
        self.assertEqual(slow.status, 408)
        after = self.score("queue", key, {"n": "after"}, deployment="blue")     # waits out the slow run()
        self.assertEqual((after.status, after.json()["echo"]), (200, {"n": "after"}))

    def test_a_crashed_scoring_process_answers_502(self):
        key = self.endpoint("crash", {})
        self.deploy("crash", "blue")
        self.assertEqual(self.score("crash", key, {"exit": 1}, deployment="blue").status, 502)
        self.assertEqual(self.score("crash", key, {"n": 1}, deployment="blue").status, 502)

    def test_a_model_registered_from_a_job_output_is_downloaded(self):
        self.assertEqual(call("PUT", ws_url("/codes/trainer/versions/1"), token=self.tok, body={"properties": {
            "codeUri": call("GET", ws_url("/codes/src/versions/1"), token=self.tok).json()["properties"]["codeUri"]}}).status, 201)
        job = {"properties": {"jobType": "Command", "experimentName": "exp", "environmentId": "azureml:inference-env:1",
                              "codeId": arm_id(ws_url("/codes/trainer/versions/1")),
                              "command": "mkdir -p ${{outputs.model}}/sub && echo w > ${{outputs.model}}/sub/weights.txt",
                              "outputs": {"model": {"jobOutputType": "uri_folder"}}}}
        self.assertEqual(call("PUT", ws_url("/jobs/train-1"), body=job, token=self.tok).status, 201)
        wait_for(lambda: call("GET", ws_url("/jobs/train-1"), token=self.tok).json()["properties"]["status"] == "Completed", 60)
        r = call("PUT", ws_url("/models/from-job/versions/3"), token=self.tok, body={"properties": {
            "modelUri": "azureml://jobs/train-1/outputs/model/", "jobName": "train-1", "modelType": "custom_model"}})
        self.assertEqual(r.status, 201, r.body)
        key = self.endpoint("fromjob", {})
        _, dep = self.deploy("fromjob", "blue", model="azureml:from-job:3")
        self.assertEqual(dep["properties"]["provisioningState"], "Succeeded", self.logs("fromjob", "blue", "StorageInitializer"))
        got = self.score("fromjob", key, {}, deployment="blue").json()
        self.assertEqual(got["files"], [os.path.join("model", "sub", "weights.txt")])
        self.assertTrue(got["model_dir"].endswith(os.path.join("azureml-models", "from-job", "3")))

    def test_reset_stops_every_scoring_process(self):
        key = self.endpoint("reset", {})
        self.deploy("reset", "blue")
        pid = self.score("reset", key, {}, deployment="blue").json()["pid"]
        control("POST", "/reset")
        self.assertFalse(alive(pid))


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:      # a zombie not yet reaped is gone too
        return f.read().split(")")[-1].split()[0] != "Z"
