"""Example conformance: every official example whose operation the sandbox
serves is sent (path values adapted to the sandbox) and the answer must carry
every field of the example's response, with the same JSON types.

The examples are read where they lie (MLOPS_AZURE_EXAMPLES, else
../shared/azure-examples relative to the repository); when that directory is
absent the tests are skipped, or fail under MLOPS_REQUIRE_EXAMPLES=1 (CI)."""
import json
import os
import re
import unittest

from .helpers import API, RG, SUB, WS, SandboxTest, call, wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.environ.get("MLOPS_AZURE_EXAMPLES") or os.path.join(os.path.dirname(REPO), "shared", "azure-examples")
REQUIRED = os.environ.get("MLOPS_REQUIRE_EXAMPLES") == "1"
ML_PREFIX = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}"
ARM_PREFIX = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Resources/deployments/{deploymentName}"

# example file -> (method, route below the prefix, prerequisites)
ML_ROUTES = {
    "Workspace/get.json": ("GET", ""),
    "Datastore/get.json": ("GET", "/datastores/{name}"),
    "Datastore/list.json": ("GET", "/datastores"),
    "Datastore/listSecrets.json": ("POST", "/datastores/{name}/listSecrets"),
    "Workspace/DataContainer/createOrUpdate.json": ("PUT", "/data/{name}"),
    "Workspace/DataContainer/get.json": ("GET", "/data/{name}"),
    "Workspace/DataVersionBase/createOrUpdate.json": ("PUT", "/data/{name}/versions/{version}"),
    "Workspace/DataVersionBase/get.json": ("GET", "/data/{name}/versions/{version}"),
    "Workspace/DataVersionBase/list.json": ("GET", "/data/{name}/versions"),
    "Workspace/CodeContainer/createOrUpdate.json": ("PUT", "/codes/{name}"),
    "Workspace/CodeVersion/createOrUpdate.json": ("PUT", "/codes/{name}/versions/{version}"),
    "Workspace/CodeVersion/createOrGetStartPendingUpload.json": ("POST", "/codes/{name}/versions/{version}/startPendingUpload"),
    "Workspace/CodeVersion/list.json": ("GET", "/codes/{name}/versions"),
    "Workspace/EnvironmentContainer/createOrUpdate.json": ("PUT", "/environments/{name}"),
    "Workspace/EnvironmentContainer/get.json": ("GET", "/environments/{name}"),
    "Workspace/EnvironmentVersion/createOrUpdate.json": ("PUT", "/environments/{name}/versions/{version}"),
    "Workspace/EnvironmentVersion/get.json": ("GET", "/environments/{name}/versions/{version}"),
    "Workspace/EnvironmentVersion/list.json": ("GET", "/environments/{name}/versions"),
    "Job/CommandJob/createOrUpdate.json": ("PUT", "/jobs/{id}"),
    "Job/CommandJob/get.json": ("GET", "/jobs/{id}"),
    "Job/CommandJob/list.json": ("GET", "/jobs"),
    "Job/cancel.json": ("POST", "/jobs/{id}/cancel"),
    "Workspace/ModelContainer/createOrUpdate.json": ("PUT", "/models/{name}"),
    "Workspace/ModelContainer/get.json": ("GET", "/models/{name}"),
    "Workspace/ModelVersion/createOrUpdate.json": ("PUT", "/models/{name}/versions/{version}"),
    "Workspace/ModelVersion/get.json": ("GET", "/models/{name}/versions/{version}"),
    "Workspace/ModelVersion/list.json": ("GET", "/models/{name}/versions"),
    "Workspace/OnlineEndpoint/createOrUpdate.json": ("PUT", "/onlineEndpoints/{endpointName}"),
    "Workspace/OnlineEndpoint/get.json": ("GET", "/onlineEndpoints/{endpointName}"),
    "Workspace/OnlineEndpoint/update.json": ("PATCH", "/onlineEndpoints/{endpointName}"),
    "Workspace/OnlineEndpoint/listKeys.json": ("POST", "/onlineEndpoints/{endpointName}/listKeys"),
    "OnlineDeployment/ManagedOnlineDeployment/createOrUpdate.json": ("PUT", "/onlineEndpoints/{endpointName}/deployments/{deploymentName}"),
    "OnlineDeployment/ManagedOnlineDeployment/get.json": ("GET", "/onlineEndpoints/{endpointName}/deployments/{deploymentName}"),
    "OnlineDeployment/ManagedOnlineDeployment/update.json": ("PATCH", "/onlineEndpoints/{endpointName}/deployments/{deploymentName}"),
    "OnlineDeployment/getLogs.json": ("POST", "/onlineEndpoints/{endpointName}/deployments/{deploymentName}/getLogs"),
    "OnlineDeployment/list.json": ("GET", "/onlineEndpoints/{endpointName}/deployments"),
}
ARM_ROUTES = {
    "PutDeploymentResourceGroup.json": ("PUT", ""),
    "PostDeploymentValidateOnResourceGroup.json": ("POST", "/validate"),
    "PostDeploymentWhatIfOnResourceGroup.json": ("POST", "/whatIf"),
    "PutDeploymentWithOnErrorDeploymentLastSuccessful.json": ("PUT", ""),
    "PutDeploymentWithOnErrorDeploymentSpecificDeployment.json": ("PUT", ""),
}

# Fields whose presence depends on state rather than shape.
OPTIONAL = {"nextLink"}


def shape_errors(example, actual, path="$"):
    """Every field of example must be in actual with the same JSON type (null in
    either is accepted as 'unset'). Maps keyed by sample names ('string',
    'tag1'...) compare their values' shape with any of actual's values."""
    errors = []
    if example is None or actual is None:
        return errors
    if isinstance(example, bool) or isinstance(actual, bool):
        if type(example) is not type(actual):
            errors.append("%s: expected %s, got %r" % (path, type(example).__name__, actual))
        return errors
    if isinstance(example, (int, float)):
        if not isinstance(actual, (int, float)):
            errors.append("%s: expected a number, got %r" % (path, actual))
        return errors
    if isinstance(example, str):
        if not isinstance(actual, str):
            errors.append("%s: expected a string, got %r" % (path, actual))
        return errors
    if isinstance(example, list):
        if not isinstance(actual, list):
            return ["%s: expected an array, got %r" % (path, actual)]
        if example and actual:
            for i, item in enumerate(actual):
                errors += shape_errors(example[0], item, "%s[%d]" % (path, i))
        return errors
    if not isinstance(actual, dict):
        return ["%s: expected an object, got %r" % (path, actual)]
    for key, value in example.items():
        if key in actual:
            errors += shape_errors(value, actual[key], "%s.%s" % (path, key))
        elif _is_map_key(path, key):
            for k, v in actual.items():
                errors += shape_errors(value, v, "%s.%s" % (path, k))
        elif key not in OPTIONAL:
            errors.append("%s: missing field '%s'" % (path, key))
    return errors


MAP_FIELDS = ("tags", "properties", "userAssignedIdentities", "inputs", "outputs", "services", "environmentVariables",
              "flavors", "data", "traffic", "outboundRules", "parameters", "outputs")


SAMPLE_KEY = re.compile(r"^(string|some_string|additionalProp\d|property\d|properties\d|tag\d|key\d|[0-9a-f-]{36}|/subscriptions/.*)$")


def _is_map_key(path, key):
    """A key that only names an entry of a user map (the examples fill maps with sample keys)."""
    return SAMPLE_KEY.match(key) is not None


def load(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        return json.load(f)


@unittest.skipUnless(os.path.isdir(EXAMPLES) or REQUIRED,
                     f"{EXAMPLES} is absent: example conformance skipped (MLOPS_REQUIRE_EXAMPLES=1 fails instead)")
class ExampleConformance(SandboxTest):
    def setUp(self):
        self.assertTrue(os.path.isdir(EXAMPLES),
                        f"MLOPS_REQUIRE_EXAMPLES=1 but the official Azure examples are missing: no folder {EXAMPLES}")
        super().setUp()

    def ml_request(self, rel, method, route, ex):
        p = ex["parameters"]
        values = {k: str(v) for k, v in p.items() if isinstance(v, (str, int))}
        values.update({"sub": SUB, "rg": RG, "ws": WS})
        url = "https://management.azure.com" + (ML_PREFIX + route).format(**values)
        query = {"api-version": API}
        for k in ("$tags", "tags", "isDefault", "jobType", "tag"):
            pass  # filters are left out so that the objects made here are listed
        body = p.get("body") or p.get("parameters") if method in ("PUT", "POST", "PATCH") else None
        if isinstance(body, dict) and "properties" not in body and method == "PUT" and rel.endswith("createOrUpdate.json") and False:
            body = None
        return call(method, url + "?api-version=" + query["api-version"], body=body, token=self.tok)

    def prepare_ml(self, rel, ex):
        """Creates what an example's GET needs, from the matching PUT example."""
        p = ex["parameters"]
        order = []
        if rel.startswith("Workspace/DataContainer/get"):
            order.append("Workspace/DataContainer/createOrUpdate.json")
        if rel.startswith("Workspace/DataVersionBase/") and "createOrUpdate" not in rel:
            order.append("Workspace/DataVersionBase/createOrUpdate.json")
        if rel.startswith("Workspace/CodeVersion/list"):
            order.append("Workspace/CodeVersion/createOrUpdate.json")
        if rel.startswith("Workspace/EnvironmentContainer/get"):
            order.append("Workspace/EnvironmentContainer/createOrUpdate.json")
        if rel.startswith("Workspace/EnvironmentVersion/") and "createOrUpdate" not in rel:
            order.append("Workspace/EnvironmentVersion/createOrUpdate.json")
        if rel.startswith("Job/") and "createOrUpdate" not in rel:
            order.append("Job/CommandJob/createOrUpdate.json")
        if rel.startswith("Workspace/ModelContainer/get"):
            order.append("Workspace/ModelContainer/createOrUpdate.json")
        if rel.startswith("Workspace/ModelVersion/") and "createOrUpdate" not in rel:
            order.append("Workspace/ModelVersion/createOrUpdate.json")
        if "OnlineEndpoint/" in rel and "createOrUpdate" not in rel or rel.startswith("OnlineDeployment/"):
            order.append("Workspace/OnlineEndpoint/createOrUpdate.json")
        if rel.startswith("OnlineDeployment/") and "createOrUpdate" not in rel and rel != "OnlineDeployment/list.json":
            order.append("OnlineDeployment/ManagedOnlineDeployment/createOrUpdate.json")
        for prereq in order:
            pex = load(os.path.join("machinelearningservices-2025-12-01", prereq))
            pp = dict(pex["parameters"])
            # give the prerequisite the names the example under test uses
            for k in ("name", "version", "id", "endpointName", "deploymentName"):
                if k in p:
                    pp[k] = p[k]
            pex = dict(pex, parameters=pp)
            method, route = ML_ROUTES[prereq]
            r = self.ml_request(prereq, method, route, pex)
            self.assertIn(r.status, (200, 201), "prerequisite %s: %s" % (prereq, r.body[:500]))
        if rel == "OnlineDeployment/list.json":
            # The example lists a Kubernetes deployment: create that very deployment.
            item = ex["responses"]["200"]["body"]["value"][0]
            body = {k: v for k, v in item.items() if k in ("location", "sku", "tags", "kind", "identity", "properties")}
            url = "https://management.azure.com" + (ML_PREFIX + "/onlineEndpoints/{e}/deployments/kube1").format(
                sub=SUB, rg=RG, ws=WS, e=p["endpointName"])
            r = call("PUT", url + "?api-version=" + API, body=body, token=self.tok)
            self.assertIn(r.status, (200, 201), r.body[:500])
        if rel.startswith("Datastore/") and "list.json" not in rel:
            get = load(os.path.join("machinelearningservices-2025-12-01", "Datastore/get.json"))["responses"]["200"]["body"]
            props = dict(get["properties"], accountName="mlopssandboxsa", containerName="examples",
                         credentials={"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey", "key": "a2V5"}})
            url = "https://management.azure.com" + (ML_PREFIX + "/datastores/{n}").format(sub=SUB, rg=RG, ws=WS, n=p["name"])
            r = call("PUT", url + "?api-version=" + API, body={"properties": props}, token=self.tok)
            self.assertIn(r.status, (200, 201), r.body[:500])
        if order:
            wait_for(lambda: True)
            import time
            time.sleep(1.2)     # let endpoint/deployment walks finish

    def check(self, rel, ex, resp):
        responses = ex["responses"]
        status = str(resp.status)
        self.assertIn(status, responses, "%s: status %s is not one of the example's %s; body %s" % (
            rel, status, sorted(responses), resp.body[:600]))
        expected = responses[status].get("body")
        if expected is not None:
            errors = shape_errors(expected, resp.json())
            self.assertEqual(errors, [], "%s (%s):\n  %s" % (rel, status, "\n  ".join(errors[:20])))
        for h in (responses[status].get("headers") or {}):
            if h.lower() in ("location", "azure-asyncoperation"):
                self.assertIsNotNone(resp.header(h), "%s: header %s missing" % (rel, h))

    def test_machine_learning_examples(self):
        base = os.path.join(EXAMPLES, "machinelearningservices-2025-12-01")
        failures = []
        for rel, (method, route) in sorted(ML_ROUTES.items()):
            path = os.path.join(base, rel)
            if rel.endswith("OnlineEndpoint/listKeys.json"):
                path = os.path.join(EXAMPLES, "machinelearningservices-2025-06-01", rel)
            if not os.path.exists(path):
                continue
            with self.subTest(example=rel):
                self.setUp()
                with open(path) as f:
                    ex = json.load(f)
                self.prepare_ml(rel, ex)
                try:
                    self.check(rel, ex, self.ml_request(rel, method, route, ex))
                except AssertionError as exc:
                    failures.append(str(exc))
        self.assertEqual(failures, [], "\n".join(failures))

    def test_deployment_examples(self):
        base = os.path.join(EXAMPLES, "resources-deployments-2025-04-01")
        failures = []
        for rel, (method, route) in sorted(ARM_ROUTES.items()):
            path = os.path.join(base, rel)
            if not os.path.exists(path):
                continue
            with self.subTest(example=rel):
                self.setUp()
                with open(path) as f:
                    ex = json.load(f)
                url = "https://management.azure.com" + ARM_PREFIX.format(sub=SUB, rg=RG, deploymentName=ex["parameters"]["deploymentName"]) + route
                r = call(method, url + "?api-version=2025-04-01", body=ex["parameters"]["parameters"], token=self.tok)
                try:
                    self.check(rel, ex, r)
                except AssertionError as exc:
                    failures.append(str(exc))
        self.assertEqual(failures, [], "\n".join(failures))


if __name__ == "__main__":
    unittest.main()
