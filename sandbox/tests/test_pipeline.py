"""Pipeline jobs: a DAG of child command jobs, bound inputs, children listed, failure and cancel."""
from . import test_jobs
from .helpers import SandboxTest, call, wait_for, ws_url, SUB, RG, WS

HISTORY = ("https://eastus.api.azureml.ms/history/v1.0/subscriptions/%s/resourceGroups/%s/providers/"
           "Microsoft.MachineLearningServices/workspaces/%s/runs/%%s/children" % (SUB, RG, WS))
PREP = b"""import os, sys
os.makedirs(sys.argv[2], exist_ok=True)
open(os.path.join(sys.argv[2], "rows.txt"), "w").write("rows=" + sys.argv[1])
print("prepared", sys.argv[1])
"""
TRAIN = b"""import os, sys, mlflow
rows = open(os.path.join(sys.argv[1], "rows.txt")).read()
print("training on", rows)
mlflow.log_metric("accuracy", 0.9)
os.makedirs(sys.argv[2], exist_ok=True)
open(os.path.join(sys.argv[2], "model.txt"), "w").write(rows)
"""


class PipelineTests(SandboxTest):
    # The command job tests' code upload and status wait.
    upload_code = test_jobs.JobTests.upload_code
    wait_status = test_jobs.JobTests.wait_status

    def setUp(self):
        super().setUp()
        env = {"properties": {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"}}
        self.assertEqual(call("PUT", ws_url("/environments/py/versions/1"), body=env, token=self.tok).status, 201)
        self.env_id = ws_url("/environments/py/versions/1").split("?")[0].replace("https://management.azure.com", "")

    def pipeline(self, name, jobs, **extra):
        props = {"jobType": "Pipeline", "experimentName": "exp", "jobs": jobs,
                 "inputs": {"rows": {"jobInputType": "literal", "value": "12"}},
                 "outputs": {"model": {"jobOutputType": "uri_folder"}}}
        props.update(extra)
        return call("PUT", ws_url("/jobs/" + name), body={"properties": props}, token=self.tok)

    def children(self, name):
        r = call("GET", HISTORY % name, token=self.tok)
        self.assertEqual(r.status, 200, r.body)
        return r.json()["value"]

    def steps(self, code):
        return {
            "prep": {"type": "command", "command": "python3 prep.py ${{inputs.rows}} ${{outputs.data}}", "codeId": code,
                     "environmentId": self.env_id, "inputs": {"rows": {"job_input_type": "literal", "value": "${{parent.inputs.rows}}"}},
                     "outputs": {"data": {"job_output_type": "uri_folder"}}},
            "train": {"type": "command", "command": "python3 train.py ${{inputs.data}} ${{outputs.model}}", "codeId": code,
                      "environmentId": self.env_id,
                      "inputs": {"data": {"job_input_type": "uri_folder", "uri": "${{parent.jobs.prep.outputs.data}}"}},
                      "outputs": {"model": {"job_output_type": "uri_folder", "uri": "${{parent.outputs.model}}"}}},
        }

    def test_pipeline_runs_its_steps_in_order(self):
        code = self.upload_code({"prep.py": PREP, "train.py": TRAIN})
        jobs = self.steps(code)
        # Listed train first: the order comes from the bindings, not the map.
        r = self.pipeline("pipe-ok", {"train": jobs["train"], "prep": jobs["prep"]})
        self.assertEqual(r.status, 201, r.body)
        seen = self.wait_status("pipe-ok", ("Completed", "Failed"), 60)
        self.assertEqual(seen[-1], "Completed", seen)
        self.assertIn("Running", seen)
        kids = self.children("pipe-ok")
        self.assertEqual([k["displayName"] for k in kids], ["prep", "train"])
        for k in kids:
            self.assertEqual(k["status"], "Completed")
            self.assertEqual(k["parentRunId"], "pipe-ok")
            self.assertNotIn(k["runId"], ("prep", "train", "pipe-ok"))
            child = call("GET", ws_url("/jobs/" + k["runId"]), token=self.tok).json()["properties"]
            self.assertEqual(child["properties"]["azureml.parentRunId"], "pipe-ok")
        train = call("GET", ws_url("/jobs/" + kids[1]["runId"]), token=self.tok).json()["properties"]
        parent = call("GET", ws_url("/jobs/pipe-ok"), token=self.tok).json()["properties"]
        self.assertEqual(parent["outputs"]["model"]["uri"], train["outputs"]["model"]["uri"])
        self.assertIn(kids[1]["runId"], parent["outputs"]["model"]["uri"])

    def test_pipeline_step_failure_fails_it_and_stops(self):
        code = self.upload_code({"prep.py": b"import sys; print('broken'); sys.exit(4)\n", "train.py": TRAIN})
        self.assertEqual(self.pipeline("pipe-bad", self.steps(code)).status, 201)
        seen = self.wait_status("pipe-bad", ("Completed", "Failed"), 60)
        self.assertEqual(seen[-1], "Failed")
        kids = self.children("pipe-bad")
        self.assertEqual([(k["displayName"], k["status"]) for k in kids], [("prep", "Failed")])
        err = call("GET", ws_url("/jobs/pipe-bad"), token=self.tok).json()["properties"]["error"]
        self.assertIn("prep", err["message"])

    def test_pipeline_cancel_cancels_the_running_step(self):
        jobs = {"wait": {"type": "command", "command": "echo started; sleep 60", "environmentId": self.env_id}}
        self.assertEqual(self.pipeline("pipe-long", jobs).status, 201)
        wait_for(lambda: [k for k in self.children("pipe-long") if k["status"] == "Running"], 30, 0.1)
        self.assertEqual(call("POST", ws_url("/jobs/pipe-long/cancel"), token=self.tok).status, 202)
        self.assertEqual(self.wait_status("pipe-long", ("Canceled",), 20)[-1], "Canceled")
        self.assertEqual([k["status"] for k in self.children("pipe-long")], ["Canceled"])

    def test_pipeline_refuses_bad_graphs(self):
        step = {"type": "command", "command": "true", "environmentId": self.env_id,
                "inputs": {"x": {"job_input_type": "uri_folder", "uri": "${{parent.jobs.b.outputs.y}}"}}}
        other = dict(step, inputs={"x": {"job_input_type": "uri_folder", "uri": "${{parent.jobs.a.outputs.y}}"}})
        r = self.pipeline("pipe-cycle", {"a": step, "b": other})
        self.assertEqual(r.status, 400)
        self.assertIn("cycle", r.body.decode())
        self.assertEqual(self.pipeline("pipe-missing", {"a": step}).status, 400)
        self.assertEqual(self.pipeline("pipe-empty", {}).status, 400)
        self.assertEqual(call("GET", HISTORY % "nope", token=self.tok).status, 404)
        self.assertEqual(call("GET", HISTORY % "nope").status, 401)
