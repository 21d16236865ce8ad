"""ARM deployments: the walk, outputs, recorded resources, validate, what-if, failures, cancel."""
import copy

from .helpers import SUB, RG, SandboxTest, call, control, rg_url, wait_for

TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"workspaceName": {"type": "string"}, "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
                   "prefix": {"type": "string", "defaultValue": "mlops", "allowedValues": ["mlops", "other"]}},
    "variables": {"storageName": "[toLower(concat(parameters('prefix'), uniqueString(resourceGroup().id)))]",
                  "kvName": "[format('{0}-kv-{1}', parameters('prefix'), take(uniqueString(subscription().subscriptionId), 6))]"},
    "resources": [
        {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01", "name": "[variables('storageName')]",
         "location": "[parameters('location')]", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "properties": {}},
        {"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "[variables('kvName')]", "location": "[parameters('location')]",
         "properties": {"tenantId": "[subscription().tenantId]", "sku": {"family": "A", "name": "standard"}, "accessPolicies": []}},
        {"type": "Microsoft.MachineLearningServices/workspaces", "apiVersion": "2024-10-01", "name": "[parameters('workspaceName')]",
         "location": "[parameters('location')]", "identity": {"type": "SystemAssigned"},
         "dependsOn": ["[resourceId('Microsoft.Storage/storageAccounts', variables('storageName'))]",
                       "[resourceId('Microsoft.KeyVault/vaults', variables('kvName'))]"],
         "properties": {"storageAccount": "[resourceId('Microsoft.Storage/storageAccounts', variables('storageName'))]",
                        "keyVault": "[resourceId('Microsoft.KeyVault/vaults', variables('kvName'))]", "friendlyName": "[parameters('workspaceName')]"}}],
    "outputs": {"workspaceId": {"type": "string", "value": "[reference(resourceId('Microsoft.MachineLearningServices/workspaces', parameters('workspaceName'))).workspaceId]"},
                "blob": {"type": "string", "value": "[reference(resourceId('Microsoft.Storage/storageAccounts', variables('storageName')), '2023-01-01', 'Full').properties.primaryEndpoints.blob]"},
                "storage": {"type": "string", "value": "[variables('storageName')]"}},
}


def body(template=None, params=None, mode="Incremental"):
    return {"properties": {"mode": mode, "template": template or TEMPLATE,
                           "parameters": params if params is not None else {"workspaceName": {"value": "ws-from-arm"}}}}


class ArmTests(SandboxTest):
    def follow(self, resp):
        url = resp.header("Azure-AsyncOperation")
        self.assertIn("/operationStatuses/", url)
        seen = []
        def poll():
            s = call("GET", url, token=self.tok).json()["status"]
            seen.append(s)
            return s if s in ("Succeeded", "Failed", "Canceled") else None
        return wait_for(poll, 20, 0.05), seen

    def test_walk_outputs_and_recorded_resources(self):
        r = call("PUT", rg_url("/providers/Microsoft.Resources/deployments/d1"), body=body(), token=self.tok)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["properties"]["provisioningState"], "Accepted")
        for h in ("x-ms-request-id", "x-ms-correlation-request-id", "x-ms-ratelimit-remaining-subscription-writes"):
            self.assertIsNotNone(r.header(h), h)
        final, seen = self.follow(r)
        self.assertEqual(final, "Succeeded")
        self.assertIn("Running", seen)
        dep = call("GET", rg_url("/providers/Microsoft.Resources/deployments/d1"), token=self.tok).json()
        outputs = dep["properties"]["outputs"]
        self.assertTrue(outputs["blob"]["value"].startswith("https://mlops"))
        self.assertEqual(outputs["storage"]["type"], "String")
        ids = [r["id"] for r in control("GET", "/state")["arm"]["resources"]]
        self.assertTrue(any(i.endswith("/workspaces/ws-from-arm") for i in ids))
        ops = call("GET", rg_url("/deployments/d1/operations"), token=self.tok).json()["value"]
        self.assertEqual(len(ops), 3)
        # the deployed workspace is served by Azure ML
        ws = call("GET", "https://management.azure.com/subscriptions/%s/resourceGroups/%s/providers/Microsoft.MachineLearningServices/"
                  "workspaces/ws-from-arm?api-version=2025-12-01" % (SUB, RG), token=self.tok)
        self.assertEqual(ws.json()["properties"]["workspaceId"], outputs["workspaceId"]["value"])

    def test_invalid_templates(self):
        bad = copy.deepcopy(TEMPLATE)
        bad["resources"][0]["name"] = "[nosuchfunction()]"
        r = call("PUT", rg_url("/providers/Microsoft.Resources/deployments/d2"), body=body(bad), token=self.tok)
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "InvalidTemplate"))
        r = call("POST", rg_url("/providers/Microsoft.Resources/deployments/d2/validate"), body=body(params={}), token=self.tok)
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "InvalidTemplate"))
        bad = copy.deepcopy(TEMPLATE)
        bad["variables"]["storageName"] = "Not_Valid"
        r = call("POST", rg_url("/providers/Microsoft.Resources/deployments/d2/validate"), body=body(bad), token=self.tok)
        self.assertEqual(r.json()["error"]["code"], "InvalidTemplateDeployment")
        self.assertEqual(r.json()["error"]["details"][0]["details"][0]["code"], "AccountNameInvalid")
        ok = call("POST", rg_url("/providers/Microsoft.Resources/deployments/d2/validate"), body=body(), token=self.tok)
        self.assertEqual(len(ok.json()["properties"]["validatedResources"]), 3)

    def test_failing_resource_names_itself(self):
        t = copy.deepcopy(TEMPLATE)
        t["resources"][1]["tags"] = {"sandbox-fail": "VaultQuotaExceeded"}
        r = call("PUT", rg_url("/providers/Microsoft.Resources/deployments/d3"), body=body(t), token=self.tok)
        final, _ = self.follow(r)
        self.assertEqual(final, "Failed")
        err = call("GET", rg_url("/providers/Microsoft.Resources/deployments/d3"), token=self.tok).json()["properties"]["error"]
        self.assertEqual(err["code"], "DeploymentFailed")
        self.assertIn("/vaults/", err["details"][0]["target"])
        self.assertEqual(err["details"][0]["details"][0]["code"], "VaultQuotaExceeded")

    def test_what_if(self):
        def what_if(b):
            r = call("POST", rg_url("/providers/Microsoft.Resources/deployments/w/whatIf"), body=b, token=self.tok)
            self.assertEqual(r.status, 202)
            res = wait_for(lambda: (lambda x: x if x.status == 200 else None)(call("GET", r.header("Location"), token=self.tok)))
            return {c["resourceId"].split("/")[-1]: c for c in res.json()["properties"]["changes"]}
        first = what_if(body())
        self.assertEqual({c["changeType"] for c in first.values()}, {"Create"})
        final, _ = self.follow(call("PUT", rg_url("/providers/Microsoft.Resources/deployments/d4"), body=body(), token=self.tok))
        t = copy.deepcopy(TEMPLATE)
        t["resources"][0]["tags"] = {"team": "ml"}
        del t["resources"][1]
        t["resources"][1]["dependsOn"] = t["resources"][1]["dependsOn"][:1]
        changes = what_if(body(t, mode="Complete"))
        kinds = sorted(c["changeType"] for c in changes.values())
        self.assertEqual(kinds, ["Delete", "Modify", "NoChange"])
        modify = [c for c in changes.values() if c["changeType"] == "Modify"][0]
        self.assertEqual(modify["delta"][0], {"path": "tags", "propertyChangeType": "Create", "after": {"team": "ml"}})
        # A nested "name" (the SKU) is a property like any other.
        t = copy.deepcopy(TEMPLATE)
        t["resources"][0]["sku"] = {"name": "Standard_GRS"}
        changes = what_if(body(t))
        storage = [c for c in changes.values() if "/storageAccounts/" in c["resourceId"]][0]
        self.assertEqual(storage["changeType"], "Modify")
        self.assertIn({"path": "sku.name", "propertyChangeType": "Modify", "before": "Standard_LRS",
                       "after": "Standard_GRS"}, storage["delta"])

    def test_cancel_and_active_conflict(self):
        control("POST", "/config", {"lro_step_seconds": 2})
        r = call("PUT", rg_url("/providers/Microsoft.Resources/deployments/d5"), body=body(), token=self.tok)
        again = call("PUT", rg_url("/providers/Microsoft.Resources/deployments/d5"), body=body(), token=self.tok)
        self.assertEqual((again.status, again.json()["error"]["code"]), (409, "DeploymentActive"))
        self.assertEqual(call("POST", rg_url("/providers/Microsoft.Resources/deployments/d5/cancel"), token=self.tok).status, 204)
        self.assertEqual(call("GET", rg_url("/providers/Microsoft.Resources/deployments/d5"), token=self.tok).json()["properties"]["provisioningState"], "Canceled")
