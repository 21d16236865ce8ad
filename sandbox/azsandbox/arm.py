"""Azure Resource Manager: resource groups and resource-group deployments.

PUT/GET/HEAD/DELETE deployments, validate, whatIf, cancel, operations and
operationStatuses. A PUT evaluates the template at once (template errors are a
synchronous 400, as ARM's preflight) and then walks Accepted -> Running ->
Succeeded | Failed | Canceled in time; deployed resources are recorded when
the walk reaches them, and visible in GET /state and to what-if.

How to make a deployment fail: a resource tagged "sandbox-fail": "<ErrorCode>",
or the fault kind `lro_failed` on the PUT.
"""
import copy
import hashlib
import json
import re
import threading
import time
import uuid

from . import jsonc
from .httpcore import Response, arm_error, iso_duration, iso_now, json_response
from .lro import Operations
from .template import TemplateError, expand, type_name

DEPLOYMENT_NAME_RE = re.compile(r"^[-\w\._\(\)]{1,64}$")
ARM_API_VERSIONS = re.compile(r"^20\d\d-\d\d-\d\d(-preview)?$")
KNOWN_LOCATIONS = {"eastus", "eastus2", "westus", "westus2", "westus3", "centralus", "northcentralus", "southcentralus",
                   "northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "germanywestcentral", "swedencentral",
                   "switzerlandnorth", "norwayeast", "australiaeast", "japaneast", "koreacentral", "southeastasia", "eastasia",
                   "centralindia", "canadacentral", "brazilsouth", "global"}
NAME_RULES = {
    "microsoft.storage/storageaccounts": (re.compile(r"^[a-z0-9]{3,24}$"), "AccountNameInvalid",
                                          "{0} is not a valid storage account name. Storage account name must be between 3 and 24 "
                                          "characters in length and use numbers and lower-case letters only."),
    "microsoft.keyvault/vaults": (re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$"), "VaultNameNotValid",
                                  "The vault name '{0}' is invalid. A vault's name must be between 3-24 alphanumeric characters. "
                                  "The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens."),
    "microsoft.machinelearningservices/workspaces": (re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$"), "ValidationError",
                                                     "Workspace name '{0}' is invalid: it must be 3-33 characters of letters, "
                                                     "digits, hyphens and underscores, starting with a letter or digit."),
    "microsoft.containerregistry/registries": (re.compile(r"^[a-zA-Z0-9]{5,50}$"), "RegistryNameInvalid",
                                               "The registry name '{0}' is invalid: 5-50 alphanumeric characters."),
}


ARM_RESOURCES_API_VERSIONS = ("2025-04-01", "2025-03-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-07-01", "2022-09-01",
                              "2021-04-01", "2020-06-01", "2019-10-01")


def _ml_types():
    from .config import SUPPORTED_ML_API_VERSIONS
    v = tuple(reversed(SUPPORTED_ML_API_VERSIONS))
    return [(t, v) for t in ("workspaces", "workspaces/computes", "workspaces/jobs", "workspaces/codes", "workspaces/codes/versions",
                             "workspaces/data", "workspaces/data/versions", "workspaces/environments",
                             "workspaces/environments/versions", "workspaces/models", "workspaces/models/versions",
                             "workspaces/datastores", "workspaces/onlineEndpoints", "workspaces/onlineEndpoints/deployments",
                             "locations/mfeOperationsStatus", "locations/mfeOperationResults", "operations")]


# The resource providers GET /subscriptions/{s}/providers/{ns} answers for: the types the
# sandbox serves or deploys, with api-versions Azure serves for them.
PROVIDERS = {
    "Microsoft.MachineLearningServices": _ml_types,
    "Microsoft.Resources": lambda: [(t, ARM_RESOURCES_API_VERSIONS) for t in (
        "deployments", "resourceGroups", "subscriptions", "tenants", "operations")],
    "Microsoft.Storage": lambda: [("storageAccounts", ("2023-05-01", "2023-01-01", "2022-09-01", "2021-09-01")),
                                  ("operations", ("2023-05-01", "2023-01-01"))],
    "Microsoft.KeyVault": lambda: [("vaults", ("2023-07-01", "2022-07-01", "2021-10-01")), ("operations", ("2023-07-01",))],
    "Microsoft.Insights": lambda: [("components", ("2020-02-02", "2015-05-01")), ("operations", ("2015-04-01",))],
    "Microsoft.ContainerRegistry": lambda: [("registries", ("2023-07-01", "2023-01-01-preview", "2019-05-01")),
                                            ("operations", ("2023-07-01",))],
    "Microsoft.ManagedIdentity": lambda: [("userAssignedIdentities", ("2023-01-31", "2018-11-30")), ("operations", ("2023-01-31",))],
}

class Arm:
    def __init__(self, app):
        self.app = app
        self.lock = threading.RLock()
        self.ops = Operations(app)
        self.reset()

    def reset(self):
        with self.lock:
            self.ops.reset()
            self.deployments = {}      # (rg lower, name lower) -> record
            self.resources = {}        # id lower -> resource
            self.groups = {self.app.conf["resource_group"].lower(): {"name": self.app.conf["resource_group"],
                                                                     "location": self.app.location, "tags": {}}}
            self.results = {}          # whatIf / validate operation results by id

    def dump(self):
        self.ops.advance_all()
        with self.lock:
            return {"resourceGroups": list(self.groups.values()),
                    "resources": sorted(self.resources.values(), key=lambda r: r["id"]),
                    "deployments": {"%s/%s" % (d["rg"], d["name"]): {
                        "provisioningState": self.state(d), "outputs": d.get("outputs"), "error": d.get("error"),
                        "resources": [r["id"] for r in d["resources"]]} for d in self.deployments.values()}}

    # -- helpers ------------------------------------------------------------------------

    def _rg_id(self, rg):
        return "/subscriptions/%s/resourceGroups/%s" % (self.app.subscription_id, rg)

    def _dep_id(self, rg, name):
        return "%s/providers/Microsoft.Resources/deployments/%s" % (self._rg_id(rg), name)

    def _check_api(self, req):
        api = req.q("api-version")
        if not api:
            return arm_error(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
        if not ARM_API_VERSIONS.match(api) or not ("2016-01-01" <= api[:10] <= "2026-12-31"):
            return arm_error(400, "InvalidApiVersionParameter", "The api-version '%s' is invalid. The supported versions are "
                             "'2025-04-01,2025-03-01,2024-11-01,2024-07-01,2024-03-01,2023-07-01,2022-09-01,2021-04-01,2020-06-01,2019-10-01'." % api)
        return None

    def handle_tenant_level(self, req, what):
        """GET /subscriptions and GET /tenants: what `az login` lists."""
        bad = self._check_api(req)
        if bad:
            return bad
        if req.method != "GET":
            return self._not_allowed(req)
        if what == "subscriptions":
            return json_response(200, {"value": [self._subscription_body()]})
        domains = sorted(self.app.tenant_domains) or ["mlopssandbox.onmicrosoft.com"]
        return json_response(200, {"value": [{
            "id": "/tenants/%s" % self.app.tenant_id, "tenantId": self.app.tenant_id, "countryCode": "US",
            "displayName": "MLOps Sandbox", "domains": domains, "defaultDomain": domains[0],
            "tenantCategory": "Home", "tenantType": "AAD"}]})

    def _subscription_body(self):
        return {"id": "/subscriptions/%s" % self.app.subscription_id, "subscriptionId": self.app.subscription_id,
                "tenantId": self.app.tenant_id, "displayName": "Sandbox subscription", "state": "Enabled",
                "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                         "spendingLimit": "Off"},
                "authorizationSource": "RoleBased", "managedByTenants": [], "tags": {}}

    def handle_basic(self, req, segs):
        """GET /subscriptions/{s}, its resources and providers, and /subscriptions/{s}/resourcegroups[/{rg}[/resources]]."""
        bad = self._check_api(req)
        if bad:
            return bad
        low = [x.lower() for x in segs]
        if len(segs) == 2:
            return json_response(200, self._subscription_body())
        if low[2] == "providers":
            return self._providers_get(req, segs[3] if len(segs) > 3 else None)
        if low[2] == "resources":
            if req.method != "GET":
                return self._not_allowed(req)
            return self._resource_list(req, None)
        if len(segs) == 3:
            if req.method != "GET":
                return self._not_allowed(req)
            with self.lock:
                return json_response(200, {"value": [self._group_body(g) for g in self.groups.values()]})
        rg_name = segs[3]
        with self.lock:
            group = self.groups.get(rg_name.lower())
            if req.method == "PUT":
                body = req.json() if req.body else {}
                created = group is None
                group = self.groups[rg_name.lower()] = {"name": rg_name, "location": body.get("location", self.app.location),
                                                        "tags": body.get("tags") or {}}
                return json_response(201 if created else 200, self._group_body(group))
            if group is None:
                return arm_error(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % rg_name)
            if len(segs) == 5:
                return self._resource_list(req, group["name"])
            if req.method == "HEAD":
                return Response(204)
            return json_response(200, self._group_body(group))

    # -- the resources list and the resource providers ---------------------------------------

    def _all_resources(self):
        """Every resource the sandbox holds, as ARM's generic resource list shows it."""
        with self.lock:
            out = {rid: {k: copy.deepcopy(r[k]) for k in ("id", "name", "type", "location", "kind", "sku", "identity", "tags")
                         if r.get(k) is not None}
                   for rid, r in self.resources.items()}
        ml = self.app.azureml
        with ml.lock:
            for ws in ml.workspaces.values():
                rid = ml.ws_id(ws)
                if rid.lower() not in out:
                    out[rid.lower()] = {"id": rid, "name": ws.name, "type": "Microsoft.MachineLearningServices/workspaces",
                                        "location": ws.location, "kind": "Default", "identity": {"type": "SystemAssigned"},
                                        "sku": {"name": "Basic", "tier": "Basic"}, "tags": ws.record.get("tags") or {}}
        for r in out.values():
            r.setdefault("tags", {})
            if r.get("location"):
                r["location"] = str(r["location"]).replace(" ", "").lower()
        return sorted(out.values(), key=lambda r: r["id"].lower())

    _FILTER_EQ = re.compile(r"^(resourceType|name|location|resourceGroup|tagName|tagValue)\s+eq\s+'((?:[^']|'')*)'$", re.I)
    _FILTER_SUB = re.compile(r"^substringof\(\s*'((?:[^']|'')*)'\s*,\s*name\s*\)$", re.I)

    def _resource_list(self, req, rg):
        """GET .../resources with the simple $filter forms: `field eq 'v'` for resourceType, name,
        location, resourceGroup, tagName (+ tagValue), and substringof('v', name), joined by `and`."""
        flt = req.q("$filter") or ""
        tests = []
        for part in re.split(r"\s+and\s+", flt.strip(), flags=re.I) if flt.strip() else []:
            m = self._FILTER_EQ.match(part.strip())
            sub = self._FILTER_SUB.match(part.strip())
            if m:
                tests.append((m.group(1).lower(), m.group(2).replace("''", "'")))
            elif sub:
                tests.append(("substringof", sub.group(1).replace("''", "'")))
            else:
                return arm_error(400, "InvalidFilterInQueryString", "Invalid $filter '%s' specified in the query string." % flt)
        tag_name = next((v for k, v in tests if k == "tagname"), None)
        if any(k == "tagvalue" for k, _ in tests) and tag_name is None:
            return arm_error(400, "InvalidFilterInQueryString", "Invalid $filter '%s' specified in the query string: "
                             "tagValue needs tagName." % flt)

        def keep(r):
            r_rg = r["id"].split("/")[4]
            if rg is not None and r_rg.lower() != rg.lower():
                return False
            for k, v in tests:
                if k == "resourcetype" and r["type"].lower() != v.lower():
                    return False
                if k == "name" and r["name"].lower() != v.lower():
                    return False
                if k == "location" and r.get("location", "") != v.replace(" ", "").lower():
                    return False
                if k == "resourcegroup" and r_rg.lower() != v.lower():
                    return False
                if k == "substringof" and v.lower() not in r["name"].lower():
                    return False
                if k == "tagname" and v not in r["tags"]:
                    return False
                if k == "tagvalue" and r["tags"].get(tag_name) != v:
                    return False
            return True
        items = [r for r in self._all_resources() if keep(r)]
        top = req.q("$top")
        if top is not None:
            if not top.isdigit():
                return arm_error(400, "InvalidTopInQueryString", "Invalid $top '%s' specified in the query string." % top)
            items = items[:int(top)]
        return json_response(200, {"value": items})

    def _providers_get(self, req, namespace):
        if req.method != "GET":
            return self._not_allowed(req)
        if namespace is None:
            return json_response(200, {"value": [self._provider_body(ns) for ns in sorted(PROVIDERS)]})
        key = next((ns for ns in PROVIDERS if ns.lower() == namespace.lower()), None)
        if key is None:
            return arm_error(404, "InvalidResourceNamespace", "The resource namespace '%s' is invalid." % namespace)
        return json_response(200, self._provider_body(key))

    def _provider_body(self, ns):
        locations = ["East US", "East US 2", "West US 2", "West Europe"]
        types = []
        for rtype, versions in PROVIDERS[ns]():
            entry = {"resourceType": rtype, "locations": [] if "/" in rtype and rtype.startswith("locations/") or rtype in (
                "operations", "deployments", "resourceGroups", "subscriptions", "tenants") else locations,
                "apiVersions": list(versions)}
            if entry["locations"]:
                entry["capabilities"] = "SupportsTags, SupportsLocation"
            types.append(entry)
        return {"id": "/subscriptions/%s/providers/%s" % (self.app.subscription_id, ns), "namespace": ns,
                "registrationState": "Registered", "registrationPolicy": "RegistrationRequired", "resourceTypes": types}

    def _group_body(self, g):
        return {"id": self._rg_id(g["name"]), "name": g["name"], "type": "Microsoft.Resources/resourceGroups",
                "location": g["location"], "tags": g["tags"], "properties": {"provisioningState": "Succeeded"}}

    # -- routing -----------------------------------------------------------------------------

    def handle(self, req, segs):
        bad = self._check_api(req)
        if bad:
            return bad
        low = [s.lower() for s in segs]
        self.ops.advance_all()
        with self.lock:
            if len(low) < 4 or low[2] != "resourcegroups":
                return arm_error(400, "InvalidResourceType", "Only resource-group deployments are served by the sandbox.")
            group = self.groups.get(low[3])
            if group is None:
                return arm_error(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % segs[3])
            rg = group["name"]
            rest = segs[4:]
            rlow = low[4:]
            if rlow[:2] == ["providers", "microsoft.resources"]:
                rest, rlow = rest[2:], rlow[2:]
            if not rest or rlow[0] != "deployments":
                if rlow[:1] == ["operationresults"] and len(rest) == 2:
                    return self._operation_result(req, rest[1])
                return arm_error(404, "NotFound", "The route is not served by the sandbox.")
            if len(rest) == 1:
                return self._list(req, rg)
            name = rest[1]
            if not DEPLOYMENT_NAME_RE.match(name):
                return arm_error(400, "InvalidDeploymentName", "The deployment name '%s' is invalid. It must be 1-64 characters of "
                                 "letters, digits, '-', '.', '_', '(' and ')'." % name)
            dep = self.deployments.get((rg.lower(), name.lower()))
            if len(rest) == 2:
                return {"PUT": self._put, "GET": self._get, "HEAD": self._head, "DELETE": self._delete}.get(
                    req.method, self._not_allowed)(req, rg, name, dep)
            action = rlow[2]
            if action == "validate" and req.method == "POST":
                return self._validate(req, rg, name)
            if action == "whatif" and req.method == "POST":
                return self._whatif(req, rg, name)
            if action == "cancel" and req.method == "POST":
                return self._cancel(req, rg, name, dep)
            if action == "operations" and req.method == "GET":
                return self._operations(req, rg, name, dep, rest[3] if len(rest) > 3 else None)
            if action == "operationstatuses" and len(rest) == 4 and req.method == "GET":
                return self._operation_status(req, dep, rest[3])
            return arm_error(404, "NotFound", "The route is not served by the sandbox.")

    def _not_allowed(self, req, *a):
        return arm_error(405, "MethodNotAllowed", "The method %s is not allowed." % req.method)

    # -- evaluating a request ------------------------------------------------------------------

    def _prepare(self, req, rg, name):
        """(spec, resources, outputs_fn, body) or an error Response."""
        try:
            body = jsonc.loads(req.body)
        except (ValueError, UnicodeDecodeError) as exc:
            return arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: '%s'." % exc)
        props = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(props, dict):
            return arm_error(400, "InvalidRequestContent", "The request content was invalid: 'properties' is required.")
        mode = props.get("mode")
        if mode not in ("Incremental", "Complete"):
            return arm_error(400, "InvalidRequestContent", "The request content was invalid: 'properties.mode' is required and "
                             "must be 'Incremental' or 'Complete'.")
        if ("template" in props) == ("templateLink" in props):
            return arm_error(400, "InvalidRequestContent", "The request content was invalid: exactly one of 'template' or "
                             "'templateLink' must be given.")
        if "parameters" in props and "parametersLink" in props:
            return arm_error(400, "InvalidRequestContent", "Only one of 'parameters' and 'parametersLink' may be given.")
        diagnostics = []
        if "template" in props:
            template = props["template"]
        else:
            template = self._linked_template(props["templateLink"], diagnostics)
            if isinstance(template, Response):
                return template
        template_hash = str(int(hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16], 16))
        context = {"subscription_id": self.app.subscription_id, "tenant_id": self.app.tenant_id, "resource_group": rg,
                   "location": self.groups[rg.lower()]["location"], "deployment_name": name, "template_hash": template_hash}
        pending = {}
        context["reference"] = lambda ref, full: self._reference(ref, full, pending, rg)
        try:
            resources, outputs_fn, ev = expand(template, props.get("parameters") or {}, context)
        except TemplateError as exc:
            return self._invalid_template(name, str(exc))
        except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError) as exc:
            return self._invalid_template(name, "Unable to evaluate template language expression: %s" % exc)
        problems = []
        for r in resources:
            rule = NAME_RULES.get(r["type"].lower())
            short = r["name"].split("/")[-1]
            if rule and not rule[0].match(short):
                problems.append({"code": rule[1], "target": short, "message": rule[2].format(short)})
            loc = str(r.get("location", "")).replace(" ", "").lower()
            if loc and loc not in KNOWN_LOCATIONS:
                problems.append({"code": "LocationNotAvailableForResourceType", "target": r["id"],
                                 "message": "The provided location '%s' is not available for resource type '%s'." % (r.get("location"), r["type"])})
            pending[r["id"].lower()] = r
        if problems:
            rid = str(uuid.uuid4())
            return arm_error(400, "InvalidTemplateDeployment",
                             "The template deployment '%s' is not valid according to the validation procedure. The tracking id is '%s'. "
                             "See inner errors for details." % (name, rid),
                             details=[{"code": "PreflightValidationCheckFailed",
                                       "message": "Preflight validation failed. Please refer to the details for the specific errors.",
                                       "details": problems}])
        params_out = {}
        for pname, spec in (template.get("parameters") or {}).items():
            ptype = str(spec.get("type", "String"))
            value = ev.params.get(pname)
            params_out[pname] = {"type": type_name(ptype)}
            if ptype.lower() not in ("securestring", "secureobject"):
                params_out[pname]["value"] = value
        spec = {"mode": mode, "template_hash": template_hash, "parameters": params_out, "diagnostics": diagnostics,
                "templateLink": props.get("templateLink"), "onErrorDeployment": props.get("onErrorDeployment"),
                "debugSetting": props.get("debugSetting"), "location": body.get("location"), "tags": body.get("tags")}
        for r in resources:
            r["properties"] = dict(r.get("properties") or {})
            r["properties"].update(self._runtime_properties(r))
        return spec, resources, outputs_fn

    def _linked_template(self, link, diagnostics):
        uri = (link or {}).get("uri") or ""
        m = re.match(r"^https://([a-z0-9]+)\.blob\.core\.windows\.net/([^/?]+)/([^?]+)", uri)
        if m and m.group(1) in self.app.accounts:
            try:
                data, _ = self.app.blob.get_blob(m.group(1), m.group(2), m.group(3))
                return jsonc.loads(data)
            except Exception as exc:
                return arm_error(400, "InvalidContentLink", "Unable to download deployment content from '%s': %s" % (uri, exc))
        if link and link.get("id"):
            diagnostics.append({"level": "Warning", "code": "SandboxTemplateSpec", "message": "Template specs are not stored in "
                                "the sandbox; an empty template was deployed."})
        elif uri:
            # The sandbox never connects out: a link outside its storage deploys nothing, and says so.
            diagnostics.append({"level": "Warning", "code": "SandboxExternalTemplateLink",
                                "message": "The sandbox does not download templates from '%s'; an empty template was deployed." % uri})
        return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0", "resources": []}

    def _invalid_template(self, name, message):
        return arm_error(400, "InvalidTemplate", "Deployment template validation failed: '%s'." % message.rstrip(".") if not
                         message.startswith("Deployment template") else message)

    def _runtime_properties(self, r):
        t = r["type"].lower()
        short = r["name"].split("/")[-1]
        props = {"provisioningState": "Succeeded"}
        if t == "microsoft.storage/storageaccounts":
            props["primaryEndpoints"] = {k: "https://%s.%s.core.windows.net/" % (short, k) for k in ("blob", "queue", "table", "file", "dfs")}
            props["primaryLocation"] = r.get("location")
        elif t == "microsoft.keyvault/vaults":
            props["vaultUri"] = "https://%s.vault.azure.net/" % short
        elif t == "microsoft.insights/components":
            key = str(uuid.uuid5(uuid.NAMESPACE_URL, r["id"]))
            props.update({"InstrumentationKey": key, "ConnectionString": "InstrumentationKey=%s" % key, "AppId": key})
        elif t == "microsoft.containerregistry/registries":
            props["loginServer"] = "%s.azurecr.io" % short.lower()
        elif t == "microsoft.managedidentity/userassignedidentities":
            props.update({"principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, "p" + r["id"])),
                          "clientId": str(uuid.uuid5(uuid.NAMESPACE_URL, "c" + r["id"])), "tenantId": self.app.tenant_id})
        elif t == "microsoft.machinelearningservices/workspaces":
            loc = str(r.get("location") or self.app.location).replace(" ", "").lower()
            rg = r["id"].split("/")[4]
            props.update({"workspaceId": str(uuid.uuid5(uuid.NAMESPACE_URL, "ws:%s/%s" % (rg, short))),
                          "discoveryUrl": "https://%s.api.azureml.ms/discovery" % loc,
                          "mlFlowTrackingUri": "azureml://%s.api.azureml.ms/mlflow/v1.0%s" % (loc, r["id"])})
        return props

    def _reference(self, ref, full, pending, rg):
        key = ref.lower()
        if not key.startswith("/subscriptions/"):
            matches = [r for r in list(pending.values()) + list(self.resources.values()) if r["name"].lower() == key]
            if not matches:
                raise TemplateError("The Resource '%s' is not defined in the template." % ref)
            res = matches[0]
        else:
            res = pending.get(key) or self.resources.get(key)
            if res is None:
                raise TemplateError("The Resource '%s' under resource group '%s' was not found." % (ref, rg))
        props = dict(res.get("properties") or {})
        props.update(self._runtime_properties(res))
        if full:
            out = {k: copy.deepcopy(v) for k, v in res.items() if k not in ("dependsOn",)}
            out["properties"] = props
            return out
        return props

    # -- deployments ----------------------------------------------------------------------------

    def state(self, dep):
        op = dep["op"]
        self.ops.advance(op)
        if op.done:
            return op.status
        return "Accepted" if self.ops.phase(op) == 0 else "Running"

    def _body(self, dep):
        state = self.state(dep)
        props = {"provisioningState": state, "correlationId": dep["correlation"], "timestamp": iso_now(dep["op"].ended or time.time()),
                 "duration": iso_duration((dep["op"].ended or time.time()) - dep["op"].started),
                 "mode": dep["spec"]["mode"], "templateHash": dep["spec"]["template_hash"], "parameters": dep["spec"]["parameters"],
                 "providers": self._providers(dep["resources"]), "dependencies": self._dependencies(dep["resources"]),
                 "outputResources": [{"id": r["id"]} for r in dep.get("created", [])], "validatedResources": [],
                 "diagnostics": dep["spec"]["diagnostics"]}
        if dep["spec"].get("templateLink"):
            link = dict(dep["spec"]["templateLink"])
            link.pop("queryString", None)
            link.setdefault("contentVersion", "1.0.0.0")
            link.setdefault("id", None)
            props["templateLink"] = link
        if dep["spec"].get("onErrorDeployment"):
            oe = dict(dep["spec"]["onErrorDeployment"])
            oe.setdefault("deploymentName", dep.get("last_successful"))
            props["onErrorDeployment"] = oe
        if dep["spec"].get("debugSetting"):
            props["debugSetting"] = dep["spec"]["debugSetting"]
        if state == "Succeeded":
            props["outputs"] = dep.get("outputs") or {}
        if state == "Failed":
            props["error"] = dep.get("error")
        body = {"id": self._dep_id(dep["rg"], dep["name"]), "name": dep["name"], "type": "Microsoft.Resources/deployments",
                "properties": props}
        if dep["spec"].get("location"):
            body["location"] = dep["spec"]["location"]
        if dep["spec"].get("tags"):
            body["tags"] = dep["spec"]["tags"]
        return body

    @staticmethod
    def _providers(resources):
        out = {}
        for r in resources:
            ns, rtype = r["type"].split("/", 1)
            out.setdefault(ns, {}).setdefault(rtype, set()).add(str(r.get("location") or "global").replace(" ", "").lower())
        return [{"namespace": ns, "resourceTypes": [{"resourceType": t, "locations": sorted(l)} for t, l in types.items()]}
                for ns, types in out.items()]

    @staticmethod
    def _dependencies(resources):
        by_id = {r["id"]: r for r in resources}
        return [{"id": r["id"], "resourceType": r["type"], "resourceName": r["name"],
                 "dependsOn": [{"id": d, "resourceType": by_id[d]["type"], "resourceName": by_id[d]["name"]} for d in r["dependsOn"] if d in by_id]}
                for r in resources if r["dependsOn"]]

    def _put(self, req, rg, name, dep):
        if dep is not None and self.state(dep) in ("Accepted", "Running"):
            return arm_error(409, "DeploymentActive", "Unable to edit or replace deployment '%s': previous deployment from '%s' is still "
                             "active (expiration time is '%s'). Please see https://aka.ms/arm-deploy for usage details." % (
                                 name, iso_now(dep["op"].started), iso_now(dep["op"].started + 86400)))
        prepared = self._prepare(req, rg, name)
        if isinstance(prepared, Response):
            return prepared
        spec, resources, outputs_fn = prepared
        fail_index, fail_error = None, None
        for i, r in enumerate(resources):
            code = (r.get("tags") or {}).get("sandbox-fail")
            if code:
                fail_index, fail_error = i, {"code": str(code), "message": "The resource operation completed with terminal provisioning "
                                                                           "state 'Failed' (sandbox-fail tag)."}
                break
        if fail_index is None and req.wants_lro_failure():
            fail_index = 0 if resources else None
            fail_error = {"code": "InternalServerError", "message": "The resource provider failed the operation (injected by the sandbox fault script)."}
        new = {"rg": rg, "name": name, "spec": spec, "resources": resources, "correlation": req.header("x-ms-correlation-request-id") or str(uuid.uuid4()),
               "created": [], "fail_index": fail_index, "fail_error": fail_error, "outputs_fn": outputs_fn,
               "last_successful": self._last_successful(rg, name)}
        error = None
        if fail_index is not None or (req.wants_lro_failure() and not resources):
            error = self._deployment_failed(new, fail_index, fail_error or {"code": "InternalServerError",
                                                                           "message": "Injected failure (sandbox fault script)."})
        steps = len(resources) + 2
        new["op"] = self.ops.start("deployment", name, steps, error, self._finish(new), {})
        self.deployments[(rg.lower(), name.lower())] = new
        op_url = "https://management.azure.com%s/operationStatuses/%s?api-version=%s" % (self._dep_id(rg, name), new["op"].id, req.q("api-version"))
        return json_response(201 if dep is None else 200, self._body(new),
                             [("Azure-AsyncOperation", op_url), ("Retry-After", str(int(self.app.settings["retry_after_seconds"])))])

    def _last_successful(self, rg, name):
        done = [d for d in self.deployments.values() if d["rg"].lower() == rg.lower() and d["op"].done and d["op"].status == "Succeeded"]
        return max(done, key=lambda d: d["op"].ended)["name"] if done else None

    def _deployment_failed(self, dep, index, inner):
        target = dep["resources"][index] if index is not None else None
        details = []
        if target is not None:
            details.append({"code": "ResourceDeploymentFailure", "target": target["id"],
                            "message": "The resource write operation failed to complete successfully, because it reached terminal "
                                       "provisioning state 'Failed'. Resource '%s' (%s)." % (target["name"], target["type"]),
                            "details": [inner]})
        else:
            details.append(inner)
        return {"code": "DeploymentFailed", "target": self._dep_id(dep["rg"], dep["name"]),
                "message": "At least one resource deployment operation failed. Please list deployment operations for details. "
                           "Please see https://aka.ms/arm-deployment-operations for usage details.", "details": details}

    def _finish(self, dep):
        def done(op):
            count = len(dep["resources"]) if dep["fail_index"] is None else dep["fail_index"]
            if op.canceled:
                count = min(count, max(0, self.ops.phase(op) - 1))
            created = dep["resources"][:count]
            for r in created:
                self._record(r)
            dep["created"] = created
            if dep["spec"]["mode"] == "Complete" and op.status == "Succeeded":
                keep = {r["id"].lower() for r in dep["resources"]}
                prefix = self._rg_id(dep["rg"]).lower() + "/"
                for rid in [k for k in self.resources if k.startswith(prefix) and k not in keep]:
                    del self.resources[rid]
            if op.status == "Succeeded":
                try:
                    # ARM keeps no secure output value: a secureString or
                    # secureObject output shows its type only.
                    dep["outputs"] = {k: ({"type": v["type"]} if str(v.get("type", "")).lower() in ("securestring", "secureobject")
                                          else v) for k, v in dep["outputs_fn"]().items()}
                except TemplateError as exc:
                    op.status = "Failed"
                    op.fail_error = dep["error"] = {"code": "DeploymentOutputEvaluationFailed",
                                                    "message": "Unable to evaluate template outputs: %s" % exc}
            elif op.status == "Failed":
                dep["error"] = op.fail_error
            elif op.status == "Canceled":
                dep["error"] = None
        return done

    def _record(self, r):
        rec = {k: copy.deepcopy(v) for k, v in r.items() if k != "dependsOn"}
        self.resources[r["id"].lower()] = rec
        if r["type"].lower() == "microsoft.machinelearningservices/workspaces":
            rg = r["id"].split("/")[4]
            ml = self.app.azureml
            if ml.workspace(rg, r["name"]) is None:
                ml.add_workspace(rg, r["name"], str(r.get("location") or self.app.location).replace(" ", "").lower(), rec)
            else:
                ml.workspace(rg, r["name"]).record = rec

    def _get(self, req, rg, name, dep):
        if dep is None:
            return arm_error(404, "DeploymentNotFound", "Deployment '%s' could not be found." % name)
        return json_response(200, self._body(dep))

    def _head(self, req, rg, name, dep):
        return Response(204 if dep else 404)

    def _delete(self, req, rg, name, dep):
        if dep is None:
            return Response(204)
        if self.state(dep) in ("Accepted", "Running"):
            return arm_error(409, "DeploymentActive", "Deployment '%s' is still active and cannot be deleted." % name)
        del self.deployments[(rg.lower(), name.lower())]
        return Response(202, b"", [("Location", "https://management.azure.com%s/operationresults/%s?api-version=%s" % (
            self._rg_id(rg), "done", req.q("api-version"))), ("Retry-After", "1")])

    def _list(self, req, rg):
        if req.method != "GET":
            return self._not_allowed(req)
        deps = [self._body(d) for d in self.deployments.values() if d["rg"].lower() == rg.lower()]
        return json_response(200, {"value": deps})

    def _cancel(self, req, rg, name, dep):
        if dep is None:
            return arm_error(404, "DeploymentNotFound", "Deployment '%s' could not be found." % name)
        if self.state(dep) not in ("Accepted", "Running"):
            return arm_error(409, "DeploymentCannotBeCancelled", "The deployment '%s' cannot be cancelled because it is in "
                             "terminal state '%s'." % (name, self.state(dep)))
        dep["op"].canceled = True
        self.ops.advance(dep["op"])
        return Response(204)

    def _operation_status(self, req, dep, op_id):
        if dep is None or dep["op"].id != op_id:
            return arm_error(404, "NotFound", "The operation '%s' was not found." % op_id)
        body = self.ops.status_body(dep["op"], req.url(), running_word="Running")
        if not dep["op"].done and self.ops.phase(dep["op"]) == 0:
            body["status"] = "Accepted"
        # While the operation runs, ARM says when to look again.
        headers = [] if dep["op"].done else [("Retry-After", str(int(self.app.settings["retry_after_seconds"])))]
        return json_response(200, {k: v for k, v in body.items() if k in ("status", "error", "id", "name", "startTime", "endTime")},
                             headers)

    def _operations(self, req, rg, name, dep, op_id):
        if dep is None:
            return arm_error(404, "DeploymentNotFound", "Deployment '%s' could not be found." % name)
        op = dep["op"]
        self.ops.advance(op)
        phase = self.ops.phase(op)
        items = []
        for i, r in enumerate(dep["resources"]):
            if dep["fail_index"] is not None and i > dep["fail_index"]:
                break
            if op.canceled and i >= max(0, phase - 1):
                break
            failed = dep["fail_index"] == i and (op.done or phase > i + 1)
            finished = op.done or phase > i + 1
            state = "Failed" if failed else ("Succeeded" if finished else "Running")
            oid = hashlib.sha1(("%s|%s" % (op.id, r["id"])).encode()).hexdigest()[:16].upper()
            props = {"provisioningOperation": "Create", "provisioningState": state, "timestamp": iso_now(),
                     "duration": "PT1S", "trackingId": str(uuid.uuid5(uuid.NAMESPACE_URL, oid)),
                     "statusCode": "BadRequest" if failed else ("OK" if finished else "Accepted"),
                     "targetResource": {"id": r["id"], "resourceType": r["type"], "resourceName": r["name"]}}
            if failed:
                props["statusMessage"] = {"status": "Failed", "error": dep["fail_error"]}
            items.append({"id": "%s/operations/%s" % (self._dep_id(rg, name), oid), "operationId": oid, "properties": props})
        if op_id:
            for it in items:
                if it["operationId"] == op_id:
                    return json_response(200, it)
            return arm_error(404, "NotFound", "Operation '%s' not found." % op_id)
        return json_response(200, {"value": items})

    # -- validate and what-if -------------------------------------------------------------------

    def _validate(self, req, rg, name):
        prepared = self._prepare(req, rg, name)
        if isinstance(prepared, Response):
            return prepared
        spec, resources, _ = prepared
        props = {"provisioningState": "Succeeded", "correlationId": str(uuid.uuid4()), "timestamp": iso_now(), "duration": "PT0.5S",
                 "mode": spec["mode"], "templateHash": spec["template_hash"], "parameters": spec["parameters"],
                 "providers": self._providers(resources), "dependencies": self._dependencies(resources),
                 "validatedResources": [{"id": r["id"]} for r in resources], "diagnostics": spec["diagnostics"]}
        if spec.get("templateLink"):
            link = dict(spec["templateLink"])
            link.pop("queryString", None)
            link.setdefault("contentVersion", "1.0.0.0")
            link.setdefault("id", None)
            props["templateLink"] = link
        return json_response(200, {"id": self._dep_id(rg, name), "name": name, "type": "Microsoft.Resources/deployments", "properties": props})

    def _whatif(self, req, rg, name):
        prepared = self._prepare(req, rg, name)
        if isinstance(prepared, Response):
            return prepared
        spec, resources, _ = prepared
        changes = []
        seen = set()
        for r in resources:
            after = self._shape(r)
            seen.add(r["id"].lower())
            existing = self.resources.get(r["id"].lower())
            if existing is None:
                changes.append({"resourceId": r["id"], "changeType": "Create", "after": after})
                continue
            before = self._shape(existing)
            delta = _delta(before, after)
            changes.append({"resourceId": r["id"], "changeType": "Modify" if delta else "NoChange", "before": before, "after": after,
                            "delta": delta})
        prefix = self._rg_id(rg).lower() + "/"
        for rid, res in sorted(self.resources.items()):
            if rid.startswith(prefix) and rid not in seen:
                changes.append({"resourceId": res["id"], "changeType": "Delete" if spec["mode"] == "Complete" else "Ignore",
                                "before": self._shape(res)})
        result = {"status": "Succeeded", "properties": {"changes": changes}}
        if spec["diagnostics"]:
            result["properties"]["diagnostics"] = spec["diagnostics"]
        op_id = str(uuid.uuid4())
        self.results[op_id] = (time.time(), result)
        return Response(202, b"", [("Location", "https://management.azure.com/subscriptions/%s/operationresults/%s?api-version=%s" % (
            self.app.subscription_id, op_id, req.q("api-version"))), ("Retry-After", str(int(self.app.settings["retry_after_seconds"])))])

    def subscription_operation_result(self, req, op_id):
        with self.lock:
            return self._operation_result(req, op_id)

    def _operation_result(self, req, op_id):
        entry = self.results.get(op_id)
        if entry is None:
            return Response(204) if op_id == "done" else arm_error(404, "NotFound", "Operation result '%s' not found." % op_id)
        started, result = entry
        if time.time() - started < float(self.app.settings["lro_step_seconds"]):
            return Response(202, b"", [("Location", req.url()), ("Retry-After", str(int(self.app.settings["retry_after_seconds"])))])
        return json_response(200, result)

    @staticmethod
    def _shape(r):
        out = {"apiVersion": r.get("apiVersion"), "id": r["id"], "type": r["type"], "name": r["name"]}
        for k in ("location", "tags", "sku", "kind", "identity"):
            if r.get(k) is not None:
                out[k] = copy.deepcopy(r[k])
        props = {k: v for k, v in (r.get("properties") or {}).items()
                 if k not in ("provisioningState", "primaryEndpoints", "primaryLocation", "vaultUri", "InstrumentationKey",
                              "ConnectionString", "AppId", "loginServer", "principalId", "clientId", "tenantId", "workspaceId",
                              "discoveryUrl", "mlFlowTrackingUri")}
        if props:
            out["properties"] = props
        return out


def _delta(before, after, path=""):
    changes = []
    # A resource's own id, type and name are its identity, not a property
    # change; deeper down (sku.name, say) they are ordinary properties.
    identity = ("id", "type", "name") if not path else ()
    keys = [k for k in list(before) + [k for k in after if k not in before] if k not in identity]
    for k in keys:
        p = "%s.%s" % (path, k) if path else k
        if k not in before:
            changes.append({"path": p, "propertyChangeType": "Create", "after": after[k]})
        elif k not in after:
            changes.append({"path": p, "propertyChangeType": "Delete", "before": before[k]})
        elif isinstance(before[k], dict) and isinstance(after[k], dict):
            changes += _delta(before[k], after[k], p)
        elif before[k] != after[k]:
            changes.append({"path": p, "propertyChangeType": "Modify", "before": before[k], "after": after[k]})
    return changes
