"""What independent real clients (the Azure CLI, MLflow, MSAL) need of the sandbox, and
where Azure is no kinder: login listings, provider and resource GETs, the relaxed JSON
ARM reads, served Azure ML api-versions, a deployment's own duration, Retry-After on
operation status, secure outputs, MLflow's non-finite metric values."""
import json
import re
import time
from urllib.parse import quote

from azsandbox import pki

from .helpers import ENV, RG, SUB, SandboxTest, call, control, rg_url, wait_for, ws_url
from .test_entra import TOKEN_URL, assertion, form

ARM = "https://management.azure.com"
MLFLOW = ("https://eastus.api.azureml.ms/mlflow/v1.0/subscriptions/%s/resourceGroups/%s/providers/"
          "Microsoft.MachineLearningServices/workspaces/%s/api/2.0/mlflow/" % (SUB, RG, ENV.get("AZURE_ML_WORKSPACE", "")))

STORAGE = {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01", "name": "stconform01",
           "location": "eastus", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "tags": {"team": "ml"}, "properties": {}}


def strict_json(raw):
    """JSON as RFC 8259 has it: bare NaN / Infinity are refused."""
    def refuse(token):
        raise ValueError("not JSON: %s" % token)
    return json.loads(raw, parse_constant=refuse)


def seconds(duration):
    m = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", duration)
    assert m, duration
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


class RealClientTests(SandboxTest):
    def get(self, url):
        return call("GET", url, token=self.tok)

    def deploy(self, name, template, params=None):
        r = call("PUT", rg_url("/providers/Microsoft.Resources/deployments/" + name), token=self.tok,
                 body={"properties": {"mode": "Incremental", "template": template, "parameters": params or {}}})
        self.assertEqual(r.status, 201, r.body)
        url = r.header("Azure-AsyncOperation")
        wait_for(lambda: self.get(url).json()["status"] in ("Succeeded", "Failed"), 20, 0.05)
        return self.get(rg_url("/providers/Microsoft.Resources/deployments/" + name)).json()

    # -- az login -----------------------------------------------------------------------------

    def test_login_lists_subscriptions_and_tenants(self):
        subs = self.get(ARM + "/subscriptions?api-version=2022-12-01")
        self.assertEqual(subs.status, 200, subs.body)
        [sub] = subs.json()["value"]
        for field in ("id", "subscriptionId", "tenantId", "displayName", "state", "subscriptionPolicies",
                      "authorizationSource", "managedByTenants"):
            self.assertIn(field, sub)
        self.assertEqual((sub["subscriptionId"], sub["tenantId"], sub["state"]), (SUB, ENV["AZURE_TENANT_ID"], "Enabled"))
        self.assertEqual(sorted(sub["subscriptionPolicies"]), ["locationPlacementId", "quotaId", "spendingLimit"])
        self.assertEqual(self.get(ARM + "/subscriptions/%s?api-version=2022-12-01" % SUB).json(), sub)
        [tenant] = self.get(ARM + "/tenants?api-version=2022-12-01").json()["value"]
        self.assertEqual(tenant["id"], "/tenants/" + ENV["AZURE_TENANT_ID"])
        for field in ("tenantId", "countryCode", "displayName", "domains", "defaultDomain", "tenantCategory", "tenantType"):
            self.assertIn(field, tenant)
        missing = self.get(ARM + "/subscriptions")
        self.assertEqual((missing.status, missing.json()["error"]["code"]), (400, "MissingApiVersionParameter"))
        self.assertEqual(call("GET", ARM + "/subscriptions?api-version=2022-12-01").status, 401)

    def test_padded_certificate_thumbprint_as_msal_sends_it(self):
        # MSAL Python (the Azure CLI's login) writes x5t as base64url *with* its '='
        # padding; Entra accepts it.
        with open(ENV["SANDBOX_CERT_PATH"]) as f:
            x5t, _ = pki.thumbprints(f.read())
        header = {"typ": "JWT", "alg": "RS256", "x5t": x5t + "=" * (-len(x5t) % 4)}
        self.assertTrue(header["x5t"].endswith("="))
        claims_part = assertion().split(".")[1]
        signing_input = pki.b64url(json.dumps(header).encode()) + "." + claims_part
        key = pki.RsaPrivateKey.from_pem_file(ENV["SANDBOX_CERT_KEY_PATH"])
        signed = signing_input + "." + pki.b64url(key.sign_rs256(signing_input.encode()))
        r = call("POST", TOKEN_URL, form=form(client_id=ENV["SANDBOX_CERT_CLIENT_ID"], client_assertion=signed,
                                              client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))
        self.assertEqual(r.status, 200, r.body)

    # -- providers and the resource list -------------------------------------------------------

    def test_provider_get(self):
        p = self.get(ARM + "/subscriptions/%s/providers/microsoft.machinelearningservices?api-version=2022-09-01" % SUB)
        self.assertEqual(p.status, 200, p.body)
        body = p.json()
        self.assertEqual((body["namespace"], body["registrationState"]), ("Microsoft.MachineLearningServices", "Registered"))
        self.assertEqual(body["id"], "/subscriptions/%s/providers/Microsoft.MachineLearningServices" % SUB)
        ws = next(t for t in body["resourceTypes"] if t["resourceType"] == "workspaces")
        self.assertIn("2024-04-01", ws["apiVersions"])
        self.assertIn("East US", ws["locations"])
        listed = self.get(ARM + "/subscriptions/%s/providers?api-version=2022-09-01" % SUB).json()["value"]
        self.assertIn("Microsoft.Storage", [x["namespace"] for x in listed])
        bad = self.get(ARM + "/subscriptions/%s/providers/Microsoft.Nope?api-version=2022-09-01" % SUB)
        self.assertEqual((bad.status, bad.json()["error"]["code"]), (404, "InvalidResourceNamespace"))

    def test_resource_list_and_filters(self):
        self.deploy("res", {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                            "contentVersion": "1.0.0.0", "resources": [STORAGE]})
        url = ARM + "/subscriptions/%s/resources?api-version=2021-04-01" % SUB

        def names(suffix=""):
            r = self.get(url + quote(suffix, safe="&=$"))
            self.assertEqual(r.status, 200, r.body)
            return sorted(x["name"] for x in r.json()["value"])
        self.assertEqual(names(), sorted(["stconform01", ENV["AZURE_ML_WORKSPACE"]]))
        one = [x for x in self.get(url).json()["value"] if x["name"] == "stconform01"][0]
        self.assertEqual({k: one[k] for k in ("type", "location", "kind", "sku", "tags")},
                         {"type": "Microsoft.Storage/storageAccounts", "location": "eastus", "kind": "StorageV2",
                          "sku": {"name": "Standard_LRS"}, "tags": {"team": "ml"}})
        self.assertEqual(names("&$filter=resourceType eq 'Microsoft.MachineLearningServices/workspaces'"), [ENV["AZURE_ML_WORKSPACE"]])
        self.assertEqual(names("&$filter=tagName eq 'team' and tagValue eq 'ml'"), ["stconform01"])
        self.assertEqual(names("&$filter=substringof('conform', name)"), ["stconform01"])
        self.assertEqual(names("&$filter=resourceGroup eq '%s' and name eq 'stconform01'" % RG), ["stconform01"])
        self.assertEqual(names("&$top=1"), [ENV["AZURE_ML_WORKSPACE"]])
        bad = self.get(url + quote("&$filter=startswith(name, 'st')", safe="&=$"))
        self.assertEqual((bad.status, bad.json()["error"]["code"]), (400, "InvalidFilterInQueryString"))
        in_rg = self.get(rg_url("/resources", api="2021-04-01")).json()["value"]
        self.assertEqual(len(in_rg), 2)

    # -- the JSON ARM reads ---------------------------------------------------------------------

    def raw(self, action, text):
        path = "/providers/Microsoft.Resources/deployments/jc" + ("/" + action if action else "")
        return call("PUT" if not action else "POST", rg_url(path, api="2022-09-01"), raw=text.encode(),
                    headers={"Content-Type": "application/json"}, token=self.tok)

    # What `az deployment group validate|create --template-file` sends (its JsonCTemplatePolicy):
    # the other properties as JSON, then an unquoted `template:` key and the file as written.
    CLI_BODY = ('{"properties": {"parameters": {"name": {"value": "stconform01"}}, "mode": "Incremental", template:{\r\n'
                '  // a line comment\r\n'
                '  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",\r\n'
                '  "contentVersion": "1.0.0.0", /* a block\r\n comment */\r\n'
                '  "parameters": {"name": {"type": "string"}},\r\n'
                '  "resources": [{"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01",\r\n'
                '    "name": "[parameters(\'name\')]", "location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"},\r\n'
                '    "properties": {}, "tags": {"note": "two\r\nlines"}}]\r\n'
                '}}}')

    def test_template_inline_as_the_azure_cli_sends_it(self):
        v = self.raw("validate", self.CLI_BODY)
        self.assertEqual(v.status, 200, v.body)
        self.assertEqual(len(v.json()["properties"]["validatedResources"]), 1)
        put = self.raw("", self.CLI_BODY)
        self.assertEqual(put.status, 201, put.body)
        wait_for(lambda: self.get(put.header("Azure-AsyncOperation")).json()["status"] == "Succeeded", 20, 0.05)
        res = [r for r in control("GET", "/state")["arm"]["resources"] if r["name"] == "stconform01"]
        self.assertEqual(res[0]["tags"], {"note": "two\r\nlines"})

    def test_what_arm_still_refuses(self):
        good = ('{"properties": {"mode": "Incremental", "template": {"$schema": "https://schema.management.azure.com/schemas/'
                '2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0", "resources": [%s]%s}}}')
        self.assertEqual(self.raw("validate", good % ("", "")).status, 200)
        for bad, where in ((good % ("", ","), "Path 'properties.template'"),          # trailing comma in an object
                           (good % ('{"a": 1},', ""), "Path 'properties.template.resources[1]'"),   # ... in an array
                           (good.replace('"mode": "Incremental"', "'mode': 'Incremental'"), "line 1"),
                           (good.replace('"resources": [', '"x": NaN, "resources": ['), "Path 'properties.template.x'"),
                           (good.replace('"resources": [', '"x": Incremental, "resources": ['), "line 1"),
                           (good.replace('"resources": [', '"x": 01, "resources": ['), "line 1"),
                           (good % ("", "") + " {}", "line 1"),
                           (good[:-3], "line 1"),
                           (good.replace('"resources": [', '"x": %s1%s, "resources": [' % ("[" * 3000, "]" * 3000)), "line 1")):
            r = self.raw("validate", bad)
            self.assertEqual(r.status, 400, bad)
            err = r.json()["error"]
            self.assertEqual(err["code"], "InvalidRequestContent", bad)
            self.assertIn(where, err["message"], bad)
            self.assertRegex(err["message"], r"line \d+, position \d+")

    # -- deployments: duration, status polling, outputs -----------------------------------------

    def test_duration_is_the_deployments_own_time(self):
        control("POST", "/config", {"lro_step_seconds": 0.3})
        template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                    "contentVersion": "1.0.0.0", "resources": [STORAGE]}
        r = call("PUT", rg_url("/providers/Microsoft.Resources/deployments/dur"), token=self.tok,
                 body={"properties": {"mode": "Incremental", "template": template}})
        self.assertEqual(r.status, 201)
        time.sleep(2.5)     # nobody looks while it runs (3 steps = 0.9 s), then somebody does, late
        first = self.get(rg_url("/providers/Microsoft.Resources/deployments/dur")).json()["properties"]
        time.sleep(0.5)
        again = self.get(rg_url("/providers/Microsoft.Resources/deployments/dur")).json()["properties"]
        self.assertEqual(first["provisioningState"], "Succeeded")
        self.assertAlmostEqual(seconds(first["duration"]), 0.9, delta=0.25)
        self.assertEqual((again["duration"], again["timestamp"]), (first["duration"], first["timestamp"]))

    def test_operation_status_says_when_to_look_again(self):
        control("POST", "/config", {"lro_step_seconds": 1, "retry_after_seconds": 2})
        r = call("PUT", rg_url("/providers/Microsoft.Resources/deployments/ra"), token=self.tok,
                 body={"properties": {"mode": "Incremental", "template": {
                     "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                     "contentVersion": "1.0.0.0", "resources": []}}})
        status = self.get(r.header("Azure-AsyncOperation"))
        self.assertIn(status.json()["status"], ("Accepted", "Running"))
        self.assertEqual(status.header("Retry-After"), "2")
        control("POST", "/config", {"lro_step_seconds": 0.01})
        done = wait_for(lambda: (lambda s: s if s.json()["status"] == "Succeeded" else None)(self.get(r.header("Azure-AsyncOperation"))))
        self.assertIsNone(done.header("Retry-After"))
        # Azure ML's operation status answers likewise
        control("POST", "/config", {"lro_step_seconds": 1})
        ep = call("PUT", ws_url("/onlineEndpoints/ep-ra"), token=self.tok, body={
            "location": "eastus", "identity": {"type": "SystemAssigned"}, "properties": {"authMode": "Key", "traffic": {}}})
        self.assertEqual(ep.status, 201, ep.body)
        st = self.get(ep.header("Azure-AsyncOperation"))
        self.assertEqual((st.json()["status"], st.header("Retry-After")), ("InProgress", "2"))

    def test_secure_outputs_carry_no_value(self):
        template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                    "contentVersion": "1.0.0.0",
                    "parameters": {"secret": {"type": "securestring"}, "blob": {"type": "secureObject"}},
                    "resources": [],
                    "outputs": {"plain": {"type": "string", "value": "visible"},
                                "count": {"type": "int", "value": 3},
                                "secret": {"type": "securestring", "value": "[parameters('secret')]"},
                                "blob": {"type": "secureobject", "value": "[parameters('blob')]"}}}
        dep = self.deploy("sec", template, {"secret": {"value": "hunter2"}, "blob": {"value": {"k": "hunter3"}}})
        props = dep["properties"]
        self.assertEqual(props["outputs"], {"plain": {"type": "String", "value": "visible"}, "count": {"type": "Int", "value": 3},
                                            "secret": {"type": "SecureString"}, "blob": {"type": "SecureObject"}})
        self.assertEqual(props["parameters"], {"secret": {"type": "SecureString"}, "blob": {"type": "SecureObject"}})
        self.assertNotIn("hunter", json.dumps(control("GET", "/state")["arm"]))

    # -- Azure ML api-versions -----------------------------------------------------------------

    def test_served_ml_api_versions(self):
        for api in ("2022-05-01", "2022-10-01", "2023-04-01", "2023-10-01", "2024-04-01", "2024-10-01", "2025-06-01",
                    "2025-09-01", "2025-12-01", "2026-03-01"):
            r = self.get(ws_url("/datastores", api=api))
            self.assertEqual(r.status, 200, "%s: %s" % (api, r.body))
        for api in ("2024-05-01", "2023-01-01", "2021-07-01", "2025-12-01-preview", "latest"):
            r = self.get(ws_url("", api=api))
            self.assertEqual((r.status, r.json()["error"]["code"]), (400, "NoRegisteredProviderFound"), api)
            self.assertIn("2024-04-01", r.json()["error"]["message"])

    # -- MLflow ---------------------------------------------------------------------------------

    def mlflow(self, method, name, body=None):
        if method == "GET":
            return call("GET", MLFLOW + name, token=self.tok)
        return call("POST", MLFLOW + name, raw=json.dumps(body, allow_nan=True).encode(),
                    headers={"Content-Type": "application/json"}, token=self.tok)

    def test_mlflow_non_finite_metrics_are_strings(self):
        exp = self.mlflow("POST", "experiments/create", {"name": "nonfinite"}).json()["experiment_id"]
        run = self.mlflow("POST", "runs/create", {"experiment_id": exp}).json()["run"]["info"]["run_id"]
        for value, step in (("NaN", 0), (1.5, 1), ("2.5", 2)):
            r = self.mlflow("POST", "runs/log-metric", {"run_id": run, "key": "loss", "value": value, "timestamp": 1, "step": step})
            self.assertEqual(r.status, 200, r.body)
        r = self.mlflow("POST", "runs/log-batch", {"run_id": run, "metrics": [
            {"key": "hi", "value": "Infinity", "timestamp": 1, "step": 0},
            {"key": "lo", "value": "-Infinity", "timestamp": 1, "step": 0}]})
        self.assertEqual(r.status, 200, r.body)
        hist = self.mlflow("GET", "metrics/get-history?run_id=%s&metric_key=loss" % run)
        self.assertEqual([m["value"] for m in strict_json(hist.body)["metrics"]], ["NaN", 1.5, 2.5])
        got = strict_json(self.mlflow("GET", "runs/get?run_id=" + run).body)["run"]["data"]["metrics"]
        self.assertEqual({m["key"]: m["value"] for m in got}, {"loss": 2.5, "hi": "Infinity", "lo": "-Infinity"})
        searched = strict_json(self.mlflow("POST", "runs/search", {"experiment_ids": [exp], "filter": "metrics.loss > 2"}).body)
        self.assertEqual(len(searched["runs"]), 1)
        strict_json(json.dumps(control("GET", "/state")["mlflow"]))
        # protobuf JSON refuses bare NaN / Infinity tokens, and booleans, for a double
        for bad in (float("nan"), float("inf"), True, "nan", "lots"):
            r = self.mlflow("POST", "runs/log-metric", {"run_id": run, "key": "x", "value": bad, "timestamp": 1, "step": 0})
            self.assertEqual((r.status, r.json()["error_code"]), (400, "INVALID_PARAMETER_VALUE"), bad)
