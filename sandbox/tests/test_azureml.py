"""Azure ML: immutability, paging, tag filters, validation, endpoint and deployment walks, startPendingUpload."""
import time

from .helpers import SandboxTest, call, control, wait_for, ws_url


def model(uri="azureml://jobs/j1/outputs/artifacts/paths/model/", tags=None, props=None, **extra):
    p = {"modelUri": uri, "modelType": "custom_model", "tags": tags or {}, "properties": props or {}}
    p.update(extra)
    return {"properties": p}


class AssetTests(SandboxTest):
    def put(self, path, body):
        return call("PUT", ws_url(path), body=body, token=self.tok)

    def get(self, path):
        return call("GET", ws_url(path), token=self.tok)

    def test_immutability(self):
        self.assertEqual(self.put("/models/m/versions/1", model(props={"a": "1"})).status, 201)
        self.assertEqual(self.put("/models/m/versions/1", model(props={"a": "1"}, tags={"stage": "production"},
                                                                description="d", isArchived=False)).status, 200)
        self.assertEqual(self.put("/models/m/versions/1", model(props={"a": "1", "b": "2"})).status, 200)   # add-only
        r = self.put("/models/m/versions/1", model(uri="azureml://jobs/other/outputs/artifacts/paths/model/", props={"a": "1", "b": "2"}))
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["code"], "UserError")
        self.assertIn("already registered and cannot be changed", r.json()["error"]["message"])
        self.assertEqual(self.put("/models/m/versions/1", model(props={"a": "changed", "b": "2"})).status, 400)
        self.assertEqual(self.put("/models/m/versions/1", model(props={"b": "2"})).status, 400)
        env = {"properties": {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest", "condaFile": "name: a\n"}}
        self.assertEqual(self.put("/environments/e/versions/1", env).status, 201)
        env["properties"]["condaFile"] = "name: b\n"
        r = self.put("/environments/e/versions/1", env)
        self.assertEqual(r.status, 400)
        self.assertIn("Environment e with version 1 is already registered and cannot be changed", r.json()["error"]["message"])

    def test_model_job_name_must_name_a_job(self):
        r = self.put("/models/m/versions/1", model(jobName="no-such-job"))
        self.assertEqual(r.status, 400)
        self.assertIn("Job 'no-such-job' referenced by jobName was not found", r.json()["error"]["message"])
        self.assertEqual(self.get("/models/m/versions/1").status, 404)

    def test_container_latest_and_next_version(self):
        for v in ("1", "2", "5"):
            self.put("/models/m/versions/%s" % v, model())
        props = self.get("/models/m").json()["properties"]
        self.assertEqual((props["latestVersion"], props["nextVersion"]), ("5", "6"))

    def test_paging_with_next_link(self):
        for v in range(1, 8):
            self.put("/data/d/versions/%d" % v, {"properties": {"dataType": "uri_file", "dataUri": "azureml://datastores/workspaceblobstore/paths/x%d.csv" % v}})
        seen = []
        url = ws_url("/data/d/versions?$top=3")
        pages = 0
        while url:
            body = call("GET", url, token=self.tok).json()
            seen += [v["name"] for v in body["value"]]
            url = body.get("nextLink")
            pages += 1
        self.assertEqual(pages, 3)
        self.assertEqual(sorted(seen, key=int), [str(i) for i in range(1, 8)])

    def test_tag_filters(self):
        self.put("/models/m/versions/1", model(tags={"stage": "production"}))
        self.put("/models/m/versions/2", model(tags={"stage": "staged", "team": "a"}))
        self.put("/models/m/versions/3", model(tags={"team": "a"}))
        names = lambda r: sorted(v["name"] for v in r.json()["value"])
        self.assertEqual(names(self.get("/models/m/versions?tags=stage=staged")), ["2"])
        self.assertEqual(names(self.get("/models/m/versions?tags=team")), ["2", "3"])
        self.assertEqual(names(self.get("/models/m/versions?tags=stage,team=a")), ["2"])
        for v, tags in (("1", {"k": "x"}), ("2", {"k": "y"})):
            self.put("/data/d/versions/" + v, {"properties": {"dataType": "uri_folder", "dataUri": "azureml://datastores/workspaceblobstore/paths/f/", "tags": tags}})
        self.assertEqual(names(self.get("/data/d/versions?$tags=k=y")), ["2"])

    def test_rejections(self):
        self.assertEqual(self.put("/models/-bad/versions/1", model()).status, 400)
        r = self.put("/data/d/versions/1", {"properties": {"dataType": "uri_file"}})
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "UserError"))
        self.assertEqual(self.put("/models/m/versions/1", {"properties": {"modelUri": "x", "tags": ["not", "a", "map"]}}).status, 400)
        r = call("GET", ws_url("/models", api="2030-01-01"), token=self.tok)
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "NoRegisteredProviderFound"))
        for api in ("2024-10-01", "2025-06-01", "2025-09-01", "2026-03-01"):
            self.assertEqual(call("GET", ws_url("", api=api), token=self.tok).status, 200)
        self.assertEqual(self.get("/models/nope/versions/1").status, 404)

    def test_workspace_and_datastore(self):
        ws = self.get("").json()
        self.assertTrue(ws["properties"]["mlFlowTrackingUri"].startswith("azureml://eastus.api.azureml.ms/mlflow/v1.0/subscriptions/"))
        ds = self.get("/datastores?isDefault=true").json()["value"]
        self.assertEqual([d["name"] for d in ds], ["workspaceblobstore"])
        secrets = call("POST", ws_url("/datastores/workspaceblobstore/listSecrets"), token=self.tok).json()
        self.assertEqual(secrets["secretsType"], "AccountKey")
        self.assertTrue(secrets["key"])

    def test_start_pending_upload_gives_working_sas(self):
        r = call("POST", ws_url("/codes/src/versions/1/startPendingUpload"), body={"pendingUploadType": "TemporaryBlobReference"}, token=self.tok)
        ref = r.json()["blobReferenceForConsumption"]
        base, _, sas = ref["credential"]["sasUri"].partition("?")
        put = call("PUT", "%s/train.py?%s" % (base, sas), raw=b"print('hi')\n", headers={"x-ms-blob-type": "BlockBlob", "x-ms-version": "2021-12-02"})
        self.assertEqual(put.status, 201, put.body)
        self.assertEqual(self.put("/codes/src/versions/1", {"properties": {"codeUri": ref["blobUri"]}}).status, 201)


class EndpointTests(SandboxTest):
    def walk(self, resp):
        url = resp.header("Azure-AsyncOperation")
        self.assertTrue(url and "/mfeOperationsStatus/" in url, url)
        states = []
        def done():
            s = call("GET", url, token=self.tok).json()["status"]
            states.append(s)
            return s if s != "InProgress" else None
        final = wait_for(done, 15, 0.1)
        self.assertEqual(states[0], "InProgress")
        return final

    def follow_location(self, resp):
        self.assertEqual(resp.status, 202)
        loc = resp.header("Location")
        self.assertIn("/mfeOperationResults/", loc)
        return wait_for(lambda: (lambda r: r if r.status != 202 else None)(call("GET", loc, token=self.tok)), 15, 0.1)

    def endpoint(self, traffic=None):
        return {"location": "eastus", "identity": {"type": "SystemAssigned"}, "properties": {"authMode": "Key", "traffic": traffic or {}}}

    def test_endpoint_and_deployment_walks(self):
        ep = ws_url("/onlineEndpoints/ep1")
        r = call("PUT", ep, body=self.endpoint(), token=self.tok)
        self.assertEqual(r.status, 201)
        self.assertEqual(r.json()["properties"]["provisioningState"], "Creating")
        self.assertEqual(self.walk(r), "Succeeded")
        self.assertEqual(call("GET", ep, token=self.tok).json()["properties"]["provisioningState"], "Succeeded")
        call("PUT", ws_url("/models/m/versions/1"), body=model(), token=self.tok)
        dep = {"location": "eastus", "sku": {"name": "Default", "capacity": 1}, "properties": {
            "endpointComputeType": "Managed", "model": ws_url("/models/m/versions/1").split("?")[0].replace("https://management.azure.com", ""),
            "instanceType": "Standard_DS3_v2"}}
        r = call("PUT", ws_url("/onlineEndpoints/ep1/deployments/blue"), body=dep, token=self.tok)
        self.assertEqual(r.status, 201)
        self.assertEqual(self.walk(r), "Succeeded")
        # traffic must sum to 100: a bad split makes the operation fail
        r = call("PUT", ep, body=self.endpoint({"blue": 50}), token=self.tok)
        self.assertEqual(self.walk(r), "Failed")
        r = call("PUT", ep, body=self.endpoint({"blue": 100}), token=self.tok)
        self.assertEqual(self.walk(r), "Succeeded")
        self.assertEqual(call("GET", ep, token=self.tok).json()["properties"]["traffic"], {"blue": 100})
        keys = call("POST", ws_url("/onlineEndpoints/ep1/listKeys"), token=self.tok).json()
        score = call("POST", "https://ep1.eastus.inference.ml.azure.com/score", body={"data": [1]}, token=keys["primaryKey"])
        self.assertEqual((score.status, score.json()["deployment"]), (200, "blue"))
        logs = call("POST", ws_url("/onlineEndpoints/ep1/deployments/blue/getLogs"), body={"containerType": "InferenceServer", "tail": 2}, token=self.tok)
        self.assertEqual(len(logs.json()["content"].splitlines()), 2)
        patched = self.follow_location(call("PATCH", ws_url("/onlineEndpoints/ep1/deployments/blue"), body={"sku": {"capacity": 2}}, token=self.tok))
        self.assertEqual(patched.json()["sku"]["capacity"], 2)
        self.assertEqual(call("DELETE", ws_url("/onlineEndpoints/ep1/deployments/blue"), token=self.tok).status, 400)   # still has traffic
        deleted = self.follow_location(call("DELETE", ep, token=self.tok))
        self.assertEqual(deleted.status, 204)
        self.assertEqual(call("GET", ep, token=self.tok).status, 404)

    def test_deployment_of_a_missing_model_fails(self):
        call("PUT", ws_url("/onlineEndpoints/ep2"), body=self.endpoint(), token=self.tok)
        r = call("PUT", ws_url("/onlineEndpoints/ep2/deployments/green"), body={"location": "eastus", "properties": {
            "endpointComputeType": "Managed", "model": "azureml:nope:1"}}, token=self.tok)
        self.assertEqual(self.walk(r), "Failed")
