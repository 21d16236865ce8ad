"""The executor: a job that prints and logs a metric, a failing job, cancel; MLflow reads."""
import base64

from .helpers import ENV, SandboxTest, call, control, wait_for, ws_url, SUB, RG, WS

MLFLOW = "https://eastus.api.azureml.ms/mlflow/v1.0/subscriptions/%s/resourceGroups/%s/providers/Microsoft.MachineLearningServices/workspaces/%s/api/2.0/mlflow/"
TRAIN = b"""import sys, mlflow
print("training with lr", sys.argv[1])
mlflow.log_param("lr", sys.argv[1])
for step in range(3):
    mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
mlflow.log_metric("accuracy", 0.93)
open(sys.argv[2] + "/model.txt", "w").write("weights")
print("done")
"""


class JobTests(SandboxTest):
    def setUp(self):
        super().setUp()
        env = {"properties": {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"}}
        self.assertEqual(call("PUT", ws_url("/environments/py/versions/1"), body=env, token=self.tok).status, 201)
        self.env_id = ws_url("/environments/py/versions/1").split("?")[0].replace("https://management.azure.com", "")

    def upload_code(self, files):
        r = call("POST", ws_url("/codes/src/versions/1/startPendingUpload"), body={"pendingUploadType": "TemporaryBlobReference"}, token=self.tok)
        ref = r.json()["blobReferenceForConsumption"]
        base, _, sas = ref["credential"]["sasUri"].partition("?")
        for name, data in files.items():
            self.assertEqual(call("PUT", "%s/%s?%s" % (base, name, sas), raw=data, headers={"x-ms-blob-type": "BlockBlob"}).status, 201)
        call("PUT", ws_url("/codes/src/versions/1"), body={"properties": {"codeUri": ref["blobUri"]}}, token=self.tok)
        return ws_url("/codes/src/versions/1").split("?")[0].replace("https://management.azure.com", "")

    def submit(self, name, command, code_id=None, **extra):
        props = {"jobType": "Command", "command": command, "environmentId": self.env_id, "experimentName": "exp"}
        if code_id:
            props["codeId"] = code_id
        props.update(extra)
        r = call("PUT", ws_url("/jobs/" + name), body={"properties": props}, token=self.tok)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["properties"]["status"], "NotStarted")

    def wait_status(self, name, wanted, timeout=30):
        seen = []
        def poll():
            s = call("GET", ws_url("/jobs/" + name), token=self.tok).json()["properties"]["status"]
            if not seen or seen[-1] != s:
                seen.append(s)
            return s if s in wanted else None
        wait_for(poll, timeout, 0.05)
        return seen

    def std_log(self, name):
        d = control("GET", "/state")
        import urllib.request
        r = call("POST", ws_url("/datastores/workspaceblobstore/listSecrets"), token=self.tok)
        return r

    def test_job_runs_prints_and_logs_metrics(self):
        code = self.upload_code({"train.py": TRAIN})
        self.submit("job-ok", "python3 train.py ${{inputs.lr}} ${{outputs.model}}", code,
                    inputs={"lr": {"jobInputType": "literal", "value": "0.01"}},
                    outputs={"model": {"jobOutputType": "uri_folder"}})
        seen = self.wait_status("job-ok", ("Completed", "Failed"))
        self.assertEqual(seen[-1], "Completed", seen)
        for s in ("Queued", "Running"):
            self.assertIn(s, seen)
        tok = self.tok
        run = call("GET", MLFLOW % (SUB, RG, WS) + "runs/get?run_id=job-ok", token=tok).json()["run"]
        metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
        self.assertEqual(metrics["accuracy"], 0.93)
        self.assertEqual(run["data"]["params"], [{"key": "lr", "value": "0.01"}])
        self.assertEqual(run["info"]["status"], "FINISHED")
        hist = call("GET", MLFLOW % (SUB, RG, WS) + "metrics/get-history?run_id=job-ok&metric_key=loss&max_results=2", token=tok).json()
        self.assertEqual(len(hist["metrics"]), 2)
        self.assertIn("next_page_token", hist)
        acct = "https://mlopssandboxsa.blob.core.windows.net/azureml/ExperimentRun/dcid.job-ok/"
        storage = call("POST", "https://login.microsoftonline.com/%s/oauth2/v2.0/token" % ENV["AZURE_TENANT_ID"], form={
            "grant_type": "client_credentials", "client_id": ENV["AZURE_CLIENT_ID"], "client_secret": ENV["AZURE_CLIENT_SECRET"],
            "scope": "https://storage.azure.com/.default"}).json()["access_token"]
        log = call("GET", acct + "user_logs/std_log.txt", token=storage, headers={"x-ms-version": "2021-12-02"})
        self.assertEqual(log.status, 200, log.body)
        self.assertIn(b"training with lr 0.01", log.body)
        model = call("GET", acct + "model/model.txt", token=storage, headers={"x-ms-version": "2021-12-02"})
        self.assertEqual(model.body, b"weights")

    def test_a_model_input_is_the_registered_versions_files(self):
        code = self.upload_code({"train.py": TRAIN})
        self.submit("job-m", "python3 train.py 0.1 ${{outputs.model}}", code,
                    outputs={"model": {"jobOutputType": "uri_folder"}})
        self.assertEqual(self.wait_status("job-m", ("Completed", "Failed"))[-1], "Completed")
        body = {"properties": {"modelUri": "azureml://jobs/job-m/outputs/model", "modelType": "custom_model"}}
        self.assertIn(call("PUT", ws_url("/models/m/versions/1"), body=body, token=self.tok).status, (200, 201))
        ref = "azureml:" + ws_url("/models/m/versions/%s").split("?")[0].replace("https://management.azure.com", "")
        self.submit("job-use", "cat ${{inputs.m}}/model.txt", inputs={"m": {"jobInputType": "custom_model", "uri": ref % "1"}})
        self.assertEqual(self.wait_status("job-use", ("Completed", "Failed"))[-1], "Completed")
        self.submit("job-none", "true", inputs={"m": {"jobInputType": "custom_model", "uri": ref % "9"}})
        self.assertEqual(self.wait_status("job-none", ("Completed", "Failed"))[-1], "Failed")
        job = call("GET", ws_url("/jobs/job-none"), token=self.tok).json()
        self.assertIn("for input 'm' was not found", job["properties"]["error"]["message"])

    def test_failing_job(self):
        self.submit("job-bad", "echo about to fail; exit 3")
        seen = self.wait_status("job-bad", ("Completed", "Failed"))
        self.assertEqual(seen[-1], "Failed")
        job = call("GET", ws_url("/jobs/job-bad"), token=self.tok).json()
        self.assertIn("status code 3", job["properties"]["error"]["message"])

    def test_missing_environment_fails_and_required_fields(self):
        r = call("PUT", ws_url("/jobs/j-x"), body={"properties": {"jobType": "Command", "command": "true"}}, token=self.tok)
        self.assertEqual(r.status, 400)
        self.submit("job-noenv", "true", environmentId="azureml:nope:9")
        self.assertEqual(self.wait_status("job-noenv", ("Completed", "Failed"))[-1], "Failed")

    def test_cancel(self):
        self.submit("job-long", "echo started; sleep 60")
        self.wait_status("job-long", ("Running",))
        r = call("POST", ws_url("/jobs/job-long/cancel"), token=self.tok)
        self.assertEqual(r.status, 202)
        seen = self.wait_status("job-long", ("Canceled",), 15)
        self.assertEqual(seen[-1], "Canceled")
        done = wait_for(lambda: (lambda x: x if x.status != 202 else None)(call("GET", r.header("Location"), token=self.tok)))
        self.assertEqual(done.status, 200)

    def test_job_list_and_tag_update(self):
        self.submit("job-t", "true", tags={"a": "1"})
        self.assertEqual(call("PUT", ws_url("/jobs/job-t"), body={"properties": {"jobType": "Command", "command": "true",
                              "environmentId": self.env_id, "experimentName": "exp", "tags": {"a": "2"}}}, token=self.tok).status, 200)
        names = [j["name"] for j in call("GET", ws_url("/jobs?tag=a"), token=self.tok).json()["value"]]
        self.assertEqual(names, ["job-t"])
        r = call("PUT", ws_url("/jobs/job-t"), body={"properties": {"jobType": "Command", "command": "false", "environmentId": self.env_id}}, token=self.tok)
        self.assertEqual(r.status, 400)

    # -- distributed jobs, limits, and the compute-side fields -------------------------------

    def read_log(self, name, leaf):
        storage = call("POST", "https://login.microsoftonline.com/%s/oauth2/v2.0/token" % ENV["AZURE_TENANT_ID"], form={
            "grant_type": "client_credentials", "client_id": ENV["AZURE_CLIENT_ID"], "client_secret": ENV["AZURE_CLIENT_SECRET"],
            "scope": "https://storage.azure.com/.default"}).json()["access_token"]
        url = "https://mlopssandboxsa.blob.core.windows.net/azureml/ExperimentRun/dcid.%s/user_logs/%s" % (name, leaf)
        return call("GET", url, token=storage, headers={"x-ms-version": "2021-12-02"})

    def test_pytorch_job_runs_one_process_per_rank_with_its_environment(self):
        self.submit("job-pt", "echo rank=$RANK local=$LOCAL_RANK node=$NODE_RANK world=$WORLD_SIZE "
                    "master=$MASTER_ADDR:$MASTER_PORT",
                    resources={"instanceCount": 2, "instanceType": "Standard_NC6s_v3", "shmSize": "8g"},
                    distribution={"distributionType": "PyTorch", "processCountPerInstance": 2})
        self.assertEqual(self.wait_status("job-pt", ("Completed", "Failed"))[-1], "Completed")
        ports = set()
        for rank in range(4):
            log = self.read_log("job-pt", "std_log_process_%d.txt" % rank)
            self.assertEqual(log.status, 200, log.body)
            text = log.body.decode()
            self.assertIn("rank=%d local=%d node=%d world=4 master=127.0.0.1:" % (rank, rank % 2, rank // 2), text)
            ports.add(text.rsplit(":", 1)[1].strip())
        self.assertEqual(len(ports), 1, "every rank meets at the same master port")
        self.assertEqual(self.read_log("job-pt", "std_log_process_4.txt").status, 404)
        self.assertEqual(self.read_log("job-pt", "std_log.txt").status, 404, "a distributed job logs per process")
        job = call("GET", ws_url("/jobs/job-pt"), token=self.tok).json()["properties"]
        self.assertEqual(job["resources"]["instanceCount"], 2)
        self.assertEqual(job["distribution"]["distributionType"], "PyTorch")

    def test_mpi_and_tensorflow_environments(self):
        self.submit("job-mpi", "echo $OMPI_COMM_WORLD_RANK/$OMPI_COMM_WORLD_SIZE "
                    "$OMPI_COMM_WORLD_LOCAL_RANK/$OMPI_COMM_WORLD_LOCAL_SIZE",
                    resources={"instanceCount": 2}, distribution={"distributionType": "Mpi", "processCountPerInstance": 1})
        self.submit("job-tf", "echo \"$TF_CONFIG\"", distribution={"distributionType": "TensorFlow", "workerCount": 2,
                                                                      "parameterServerCount": 1})
        self.assertEqual(self.wait_status("job-mpi", ("Completed", "Failed"))[-1], "Completed")
        self.assertIn(b"1/2 0/1", self.read_log("job-mpi", "std_log_process_1.txt").body)
        self.assertEqual(self.wait_status("job-tf", ("Completed", "Failed"))[-1], "Completed")
        import json
        tf = json.loads(self.read_log("job-tf", "std_log_process_2.txt").body)
        self.assertEqual(tf["task"], {"type": "ps", "index": 0})
        self.assertEqual(len(tf["cluster"]["worker"]), 2)

    def test_a_failing_rank_fails_the_job_and_stops_the_others(self):
        self.submit("job-rank", 'if [ "$RANK" = 1 ]; then exit 4; fi; sleep 30',
                    distribution={"distributionType": "PyTorch", "processCountPerInstance": 2})
        seen = self.wait_status("job-rank", ("Completed", "Failed", "Canceled"), 20)
        self.assertEqual(seen[-1], "Failed")
        err = call("GET", ws_url("/jobs/job-rank"), token=self.tok).json()["properties"]["error"]["message"]
        self.assertIn("status code 4", err)
        self.assertIn("user_logs/std_log_process_1.txt", err)

    def test_a_job_larger_than_the_host_fails_instead_of_starting(self):
        self.submit("job-huge", "true", resources={"instanceCount": 1000},
                    distribution={"distributionType": "PyTorch", "processCountPerInstance": 8})
        self.assertEqual(self.wait_status("job-huge", ("Completed", "Failed"))[-1], "Failed")
        err = call("GET", ws_url("/jobs/job-huge"), token=self.tok).json()["properties"]["error"]["message"]
        self.assertIn("at most 16 local processes; this one asks for 8000", err)

    def test_cancel_stops_every_process(self):
        self.submit("job-ptc", "echo up $RANK; sleep 60", distribution={"distributionType": "PyTorch",
                                                                       "processCountPerInstance": 3})
        self.wait_status("job-ptc", ("Running",))
        wait_for(lambda: self.read_log("job-ptc", "std_log_process_2.txt").status == 200 or None, 10, 0.1)
        self.assertEqual(call("POST", ws_url("/jobs/job-ptc/cancel"), token=self.tok).status, 202)
        self.assertEqual(self.wait_status("job-ptc", ("Canceled",), 15)[-1], "Canceled")

    def test_limits_timeout_cancels_the_job(self):
        self.submit("job-slow", "echo slow; sleep 30", limits={"jobLimitsType": "Command", "timeout": "PT1S"})
        seen = self.wait_status("job-slow", ("Completed", "Failed", "Canceled"), 20)
        self.assertEqual(seen[-1], "Canceled")
        err = call("GET", ws_url("/jobs/job-slow"), token=self.tok).json()["properties"]["error"]
        self.assertEqual(err["code"], "JobTimeout")

    def test_compute_side_fields_are_validated(self):
        base = {"jobType": "Command", "command": "true", "environmentId": self.env_id}
        bad = [
            {"distribution": {"distributionType": "Ray"}},
            {"distribution": {"distributionType": "PyTorch", "processCountPerInstance": 0}},
            {"distribution": {"distributionType": "PyTorch", "processCountPerInstance": "2"}},
            {"resources": {"instanceCount": True}},
            {"resources": {"shmSize": "2gb"}},
            {"resources": []},
            {"limits": {"jobLimitsType": "Command", "timeout": "3600"}},
            {"limits": {"jobLimitsType": "Sweep", "timeout": "PT1H"}},
            {"queueSettings": {"jobTier": "Gold"}},
            {"identity": {"identityType": "SystemAssigned"}},
            {"identity": {"identityType": "Managed", "clientId": "abc"}},
            {"services": {"lab": {"jobServiceType": "JupyterLab", "port": "8888"}}},
            {"services": {"lab": {"jobServiceType": "JupyterLab", "nodes": {"nodesValueType": "Some"}}}},
        ]
        for i, extra in enumerate(bad):
            props = dict(base)
            props.update(extra)
            r = call("PUT", ws_url("/jobs/bad-%d" % i), body={"properties": props}, token=self.tok)
            self.assertEqual(r.status, 400, (extra, r.body))
        self.submit("job-fields", "true", queueSettings={"jobTier": "Spot"},
                    identity={"identityType": "Managed", "clientId": "0a1b2c3d-0000-4000-8000-00000000abcd"},
                    services={"lab": {"jobServiceType": "JupyterLab", "port": 8888, "nodes": {"nodesValueType": "All"}}})
        job = call("GET", ws_url("/jobs/job-fields"), token=self.tok).json()["properties"]
        self.assertEqual(job["queueSettings"], {"jobTier": "Spot"})
        self.assertEqual(job["services"]["lab"]["port"], 8888)
        self.assertIn("Studio", job["services"])
