"""Azure Machine Learning control plane (Microsoft.MachineLearningServices).

Workspace, datastores, the four asset types (data, codes, environments,
models: containers + versions), command jobs (run by the executor), online
endpoints and deployments (asynchronous), and the mfeOperationsStatus /
mfeOperationResults polling resources. Errors use the ARM envelope with Azure
ML's UserError + innerError.
"""
import base64
import copy
import json
import os
import random
import re
import secrets
import threading
import time
import uuid
from urllib.parse import urlencode, quote

from . import config as cfg
from . import pipeline
from . import scoring
from .httpcore import Response, arm_error, iso_now, json_response, ml_user_error, new_guid
from .blob import BlobError
from .executor import JobFailure, parse_duration
from .lro import Operations

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$")
ENDPOINT_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")
DEPLOYMENT_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")
PROVIDER = "Microsoft.MachineLearningServices"

ASSETS = {
    # kind: (ARM type suffix, display name, create-only version fields, required version fields)
    "data": ("data", "Data", ("dataType", "dataUri", "referencedUris"), ("dataType", "dataUri")),
    "codes": ("codes", "Code", ("codeUri",), ()),
    "environments": ("environments", "Environment", ("image", "condaFile", "build", "osType", "inferenceConfig", "autoRebuild"), ()),
    "models": ("models", "Model", ("modelUri", "modelType", "jobName", "flavors"), ("modelUri",)),
}
MUTABLE_ASSET_FIELDS = ("description", "tags", "isArchived", "stage", "properties", "isAnonymous", "provisioningState",
                        "environmentType", "autoDeleteSetting", "intellectualProperty")
DATA_TYPES = {"urifile": "uri_file", "urifolder": "uri_folder", "mltable": "mltable"}
MODEL_TYPES = {"custommodel": "custom_model", "mlflowmodel": "mlflow_model", "tritonmodel": "triton_model"}
TERMINAL_JOB = ("Completed", "Failed", "Canceled")


class MlError(Exception):
    def __init__(self, status, message, inner="ValidationError", code="UserError"):
        super().__init__(message)
        self.status, self.message, self.inner, self.code = status, message, inner, code

    def response(self):
        return ml_user_error(self.status, self.message, self.inner, self.code)


def _norm(value):
    return re.sub(r"[_\s]", "", str(value)).lower()


def _check_map(props, field):
    value = props.get(field)
    if value is None:
        return
    if not isinstance(value, dict) or not all(isinstance(v, (str, type(None))) for v in value.values()):
        raise MlError(400, "The field '%s' must be a dictionary of string keys and string values." % field)


def _check_type(props, field, kinds, label):
    if field in props and props[field] is not None and not isinstance(props[field], kinds):
        raise MlError(400, "The field '%s' must be %s." % (field, label))


GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
DURATION_RE = re.compile(r"^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def _check_int(obj, field, where, minimum=1):
    value = obj.get(field)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise MlError(400, "The field '%s.%s' must be an integer of at least %d." % (where, field, minimum))


def _check_enum(obj, field, where, allowed, required=True):
    value = obj.get(field)
    if value is None and not required:
        return
    if value not in allowed:
        raise MlError(400, "The field '%s.%s' must be one of %s." % (where, field, ", ".join(allowed)))


def _check_command_compute(props):
    """resources, distribution, limits, queueSettings, identity and services of
    a command job, typed as the 2025-12-01 spec types them."""
    for f in ("resources", "distribution", "limits", "queueSettings", "identity", "services"):
        _check_type(props, f, dict, "an object")
    res = props.get("resources") or {}
    _check_int(res, "instanceCount", "resources")
    for f in ("instanceType", "shmSize", "dockerArgs"):
        _check_type(res, f, str, "a string")
    if res.get("shmSize") is not None and not re.match(r"^\d+[bBkKmMgG]$", res["shmSize"]):
        raise MlError(400, "The field 'resources.shmSize' must match \\d+[bBkKmMgG].")
    _check_type(res, "properties", dict, "an object")
    dist = props.get("distribution")
    if dist:
        _check_enum(dist, "distributionType", "distribution", ("Mpi", "PyTorch", "TensorFlow"))
        for f in ("processCountPerInstance", "workerCount"):
            _check_int(dist, f, "distribution")
        _check_int(dist, "parameterServerCount", "distribution", 0)
    limits = props.get("limits")
    if limits:
        _check_enum(limits, "jobLimitsType", "limits", ("Command",))
        timeout = limits.get("timeout")
        if timeout is not None and (not isinstance(timeout, str) or not DURATION_RE.match(timeout)):
            raise MlError(400, "The field 'limits.timeout' must be an ISO 8601 duration.")
    _check_enum(props.get("queueSettings") or {}, "jobTier", "queueSettings",
                ("Null", "Spot", "Basic", "Standard", "Premium"), required=False)
    ident = props.get("identity")
    if ident:
        _check_enum(ident, "identityType", "identity", ("AMLToken", "Managed", "UserIdentity"))
        for f in ("clientId", "objectId"):
            if ident.get(f) is not None and not (isinstance(ident[f], str) and GUID_RE.match(ident[f])):
                raise MlError(400, "The field 'identity.%s' must be a GUID." % f)
    for sname, svc in (props.get("services") or {}).items():
        if not isinstance(svc, dict):
            raise MlError(400, "The service '%s' must be an object." % sname)
        _check_type(svc, "jobServiceType", str, "a string")
        _check_int(svc, "port", "services." + sname)
        _check_map(svc, "properties")
        nodes = svc.get("nodes")
        if nodes is not None and (not isinstance(nodes, dict) or nodes.get("nodesValueType") != "All"):
            raise MlError(400, "The field 'services.%s.nodes' must be {\"nodesValueType\": \"All\"}." % sname)


def _check_name(name, what="name", regex=NAME_RE):
    if not regex.match(name or ""):
        raise MlError(400, "Invalid %s '%s': it must match the regex %s" % (what, name, regex.pattern))


def _system_data(prev=None, who="sandbox-user"):
    now = iso_now()
    sd = dict(prev) if prev else {"createdAt": now, "createdBy": who, "createdByType": "Application"}
    sd.update({"lastModifiedAt": now, "lastModifiedBy": who, "lastModifiedByType": "Application"})
    return sd


def _tag_filter(spec):
    """'a,b=1' -> [('a', None), ('b', '1')]"""
    out = []
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        k, sep, v = part.partition("=")
        out.append((k.strip(), v.strip() if sep else None))
    return out


def _matches_tags(tags, wanted):
    tags = tags or {}
    return all(k in tags and (v is None or tags[k] == v) for k, v in wanted)


def _skip_token(offset):
    return base64.urlsafe_b64encode(("skip:%d" % offset).encode()).decode().rstrip("=")


def _parse_skip(token):
    if not token:
        return 0
    if token.isdigit():
        return int(token)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if raw.startswith("skip:"):
            return int(raw[5:])
    except Exception:
        pass
    raise MlError(400, "The $skip token '%s' is not valid." % token)


class Workspace:
    def __init__(self, name, rg, location, record=None):
        self.name = name
        self.rg = rg
        self.location = location
        self.workspace_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "ws:%s/%s" % (rg, name)))
        self.record = record or {}
        self.datastores = {}
        self.assets = {k: {} for k in ASSETS}
        self.jobs = {}
        self.endpoints = {}
        self.version_seq = 0


class AzureML:
    def __init__(self, app):
        self.app = app
        self.lock = threading.RLock()
        self.ops = Operations(app)
        self.scoring = scoring.Scoring(os.path.join(app.dir, "deployments"))
        self.reset()

    # -- state ------------------------------------------------------------------

    def reset(self):
        self.scoring.shutdown()
        with self.lock:
            self.ops.reset()
            self.workspaces = {}
            c = self.app.conf
            self.add_workspace(c["resource_group"], c["workspace"], c["location"])

    def add_workspace(self, rg, name, location, record=None):
        ws = Workspace(name, rg, location, record)
        ws.datastores["workspaceblobstore"] = self._blob_datastore(ws, "workspaceblobstore", cfg.WORKSPACE_BLOB_CONTAINER, True)
        ws.datastores["workspaceartifactstore"] = self._blob_datastore(ws, "workspaceartifactstore", cfg.ARTIFACT_CONTAINER, False)
        with self.lock:
            self.workspaces[(rg.lower(), name.lower())] = ws
        return ws

    def _blob_datastore(self, ws, name, container, default):
        return {"name": name, "systemData": _system_data(), "properties": {
            "description": None, "tags": {}, "properties": {}, "isDefault": default,
            "credentials": {"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey"}},
            "datastoreType": "AzureBlob", "accountName": cfg.WORKSPACE_STORAGE_ACCOUNT, "containerName": container,
            "endpoint": "core.windows.net", "protocol": "https", "serviceDataAccessAuthIdentity": "WorkspaceSystemAssignedIdentity",
            "subscriptionId": self.app.subscription_id, "resourceGroup": ws.rg}}

    def workspace(self, rg, name):
        return self.workspaces.get((rg.lower(), name.lower()))

    def default_workspace(self):
        c = self.app.conf
        return self.workspace(c["resource_group"], c["workspace"])

    def dump(self):
        self.ops.advance_all()
        with self.lock:
            out = {}
            for (rg, name), ws in self.workspaces.items():
                out["%s/%s" % (ws.rg, ws.name)] = {
                    "datastores": sorted(ws.datastores),
                    "assets": {k: {n: {"properties": c["properties"], "versions": {v: r["properties"] for v, r in c["versions"].items()}}
                                   for n, c in conts.items()} for k, conts in ws.assets.items()},
                    "jobs": {n: {"status": self.app.executor.status(ws, n), "properties": j["properties"]} for n, j in ws.jobs.items()},
                    "onlineEndpoints": {n: {"properties": e["resource"]["properties"], "tags": e["resource"].get("tags", {}),
                                            "deployments": {d: {"properties": dep["resource"]["properties"],
                                                                "tags": dep["resource"].get("tags", {})}
                                                            for d, dep in e["deployments"].items()}}
                                        for n, e in ws.endpoints.items()},
                }
            return out

    # -- ids and urls ---------------------------------------------------------------

    def ws_id(self, ws):
        return "/subscriptions/%s/resourceGroups/%s/providers/%s/workspaces/%s" % (self.app.subscription_id, ws.rg, PROVIDER, ws.name)

    def tracking_uri(self, ws):
        return "azureml://%s.api.azureml.ms/mlflow/v1.0%s" % (ws.location, self.ws_id(ws))

    def op_url(self, ws, kind, op, api_version):
        return "https://management.azure.com/subscriptions/%s/providers/%s/locations/%s/%s/%s?api-version=%s" % (
            self.app.subscription_id, PROVIDER, ws.location, kind, op.id, api_version)

    def retry_after(self):
        return str(int(self.app.settings["retry_after_seconds"]))

    # -- routing ----------------------------------------------------------------------

    def handle(self, req, segs):
        api = req.q("api-version")
        if not api:
            return arm_error(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
        if api not in cfg.SUPPORTED_ML_API_VERSIONS:
            return arm_error(400, "NoRegisteredProviderFound",
                             "No registered resource provider found for location '%s' and API version '%s' for type 'workspaces'. "
                             "The supported api-versions are '%s'. The supported locations are 'eastus, eastus2, westeurope, westus2'." % (
                                 self.app.location, api, ", ".join(cfg.SUPPORTED_ML_API_VERSIONS)))
        self.ops.advance_all()
        low = [s.lower() for s in segs]
        try:
            with self.lock:
                if len(low) >= 7 and low[2] == "providers" and low[4] == "locations":
                    return self._operation(req, segs[6:], low[6])
                if len(low) < 8 or low[2] != "resourcegroups" or low[6] != "workspaces":
                    if len(low) == 7 and low[2] == "resourcegroups" and low[6] == "workspaces" and req.method == "GET":
                        return json_response(200, {"value": [self._workspace_body(ws) for ws in self.workspaces.values()
                                                              if ws.rg.lower() == low[3]]})
                    return arm_error(400, "InvalidResourceType", "The resource type could not be found in the namespace '%s' for api version '%s'." % (PROVIDER, api))
                if low[3] not in {ws.rg.lower() for ws in self.workspaces.values()} | {self.app.conf["resource_group"].lower()}:
                    return arm_error(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % segs[3])
                ws = self.workspace(segs[3], segs[7])
                if ws is None:
                    return arm_error(404, "ResourceNotFound", "The Resource '%s/workspaces/%s' under resource group '%s' was not found. "
                                     "For more details please go to https://aka.ms/ARMResourceNotFoundFix" % (PROVIDER, segs[7], segs[3]))
                return self._route(req, ws, segs[8:], api)
        except MlError as exc:
            return exc.response()

    def _route(self, req, ws, rest, api):
        m = req.method
        low = [s.lower() for s in rest]
        if not rest:
            if m == "GET":
                return json_response(200, self._workspace_body(ws))
            raise MlError(405, "Method %s is not supported on workspaces in the sandbox." % m, "MethodNotAllowed")
        head = low[0]
        if head == "datastores":
            return self._datastores(req, ws, rest[1:])
        if head in ASSETS:
            return self._assets(req, ws, head, rest[1:], api)
        if head == "jobs":
            return self._jobs(req, ws, rest[1:], api)
        if head == "onlineendpoints":
            return self._endpoints(req, ws, rest[1:], api)
        if head == "computes":
            return self._computes(req, ws, rest[1:])
        raise MlError(404, "The resource type '%s' is not served by the sandbox." % rest[0], "NotFoundError")

    def _workspace_body(self, ws):
        sub = self.app.subscription_id
        rg_id = "/subscriptions/%s/resourceGroups/%s/providers" % (sub, ws.rg)
        zero = "00000000-0000-0000-0000-000000000000"
        props = {
            "description": "Local sandbox workspace", "friendlyName": ws.name, "workspaceId": ws.workspace_id,
            "allowPublicAccessWhenBehindVnet": False,
            "applicationInsights": "%s/microsoft.insights/components/%sinsights" % (rg_id, ws.name),
            "containerRegistry": "%s/Microsoft.ContainerRegistry/registries/%sacr" % (rg_id, ws.name.replace("-", "")),
            "keyVault": "%s/Microsoft.KeyVault/vaults/%s-kv" % (rg_id, ws.name[:20]),
            "storageAccount": "%s/Microsoft.Storage/storageAccounts/%s" % (rg_id, cfg.WORKSPACE_STORAGE_ACCOUNT),
            "discoveryUrl": "https://%s.api.azureml.ms/discovery" % ws.location,
            "mlFlowTrackingUri": self.tracking_uri(ws),
            "encryption": {"identity": {"userAssignedIdentity": None},
                           "keyVaultProperties": {"identityClientId": "", "keyIdentifier": "", "keyVaultArmId": ""},
                           "status": "Disabled"},
            "hbiWorkspace": False, "imageBuildCompute": "",
            "managedNetwork": {"isolationMode": "Disabled", "networkId": zero, "outboundRules": {},
                               "status": {"sparkReady": False, "status": "Inactive"}},
            "privateEndpointConnections": [], "privateLinkCount": 0, "publicNetworkAccess": "Enabled",
            "serviceProvisionedResourceGroup": "%s_%s" % (ws.name, ws.workspace_id.replace("-", "")[:16]),
            "sharedPrivateLinkResources": [], "provisioningState": "Succeeded",
            "v1LegacyMode": False, "tenantId": self.app.tenant_id, "storageHnsEnabled": False,
            "mlFlowTrackingUri_note": None,
        }
        del props["mlFlowTrackingUri_note"]
        props.update((ws.record.get("properties") or {}) if isinstance(ws.record.get("properties"), dict) else {})
        props["mlFlowTrackingUri"] = self.tracking_uri(ws)
        props["workspaceId"] = ws.workspace_id
        return {"id": self.ws_id(ws), "name": ws.name, "type": "%s/workspaces" % PROVIDER, "location": ws.location,
                "kind": "Default", "tags": ws.record.get("tags") or {},
                "sku": {"name": "Basic", "tier": "Basic"},
                "identity": {"type": "SystemAssigned", "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, "mi:" + ws.name)),
                             "tenantId": self.app.tenant_id, "userAssignedIdentities": {}},
                "properties": props, "systemData": _system_data()}

    # -- paging ----------------------------------------------------------------------------

    def _page(self, req, items, default_size=30):
        skip = _parse_skip(req.q("$skip") or req.q("$skipToken"))
        size = req.q("$top") or req.q("count") or default_size
        try:
            size = max(1, min(int(size), 1000))
        except ValueError:
            raise MlError(400, "The value '%s' is not valid for $top." % size)
        page = items[skip: skip + size]
        body = {"value": page}
        if skip + size < len(items):
            params = [(k, v[0]) for k, v in req.query.items() if k.lower() not in ("$skip", "$skiptoken")]
            params.append(("$skip", _skip_token(skip + size)))
            body["nextLink"] = "https://management.azure.com%s?%s" % (quote(req.path), urlencode(params, safe="$,=:/"))
        return json_response(200, body)

    # -- datastores ----------------------------------------------------------------------

    def _datastore_body(self, ws, ds):
        body = {"id": "%s/datastores/%s" % (self.ws_id(ws), ds["name"]), "name": ds["name"],
                "type": "%s/workspaces/datastores" % PROVIDER, "properties": copy.deepcopy(ds["properties"]),
                "systemData": ds["systemData"]}
        creds = body["properties"].get("credentials") or {}
        if isinstance(creds.get("secrets"), dict):      # secrets never come back, only their type
            creds["secrets"] = {"secretsType": creds["secrets"].get("secretsType")}
        return body

    def _datastores(self, req, ws, rest):
        m = req.method
        if not rest:
            if m != "GET":
                raise MlError(405, "Method not allowed", "MethodNotAllowed")
            items = sorted(ws.datastores.values(), key=lambda d: d["name"])
            if req.q("isDefault") is not None:
                want = req.q("isDefault").lower() == "true"
                items = [d for d in items if d["properties"].get("isDefault") == want]
            names = req.query.get("names")
            if names:
                wanted = {n for v in names for n in v.split(",")}
                items = [d for d in items if d["name"] in wanted]
            return self._page(req, [self._datastore_body(ws, d) for d in items])
        name = rest[0]
        ds = ws.datastores.get(name)
        if len(rest) == 2 and rest[1].lower() == "listsecrets" and m == "POST":
            if ds is None:
                raise MlError(404, "Datastore %s not found." % name, "NotFoundError")
            if ds["name"] in ("workspaceblobstore", "workspaceartifactstore"):
                return json_response(200, {"secretsType": "AccountKey", "key": self.app.accounts[cfg.WORKSPACE_STORAGE_ACCOUNT]})
            secrets_ = ds["properties"].get("credentials", {}).get("secrets") or {}
            return json_response(200, secrets_ or {"secretsType": "None"})
        if len(rest) != 1:
            raise MlError(404, "Route not found", "NotFoundError")
        if m == "GET":
            if ds is None:
                raise MlError(404, "Datastore %s not found." % name, "NotFoundError")
            return json_response(200, self._datastore_body(ws, ds))
        if m == "DELETE":
            existed = ws.datastores.pop(name, None)
            return Response(200 if existed else 204)
        if m == "PUT":
            _check_name(name)
            body = self._body(req)
            props = body.get("properties")
            if not isinstance(props, dict):
                raise MlError(400, "The request body must contain 'properties'.", "ValidationError")
            if props.get("datastoreType") not in ("AzureBlob", "AzureDataLakeGen1", "AzureDataLakeGen2", "AzureFile", "OneLake"):
                raise MlError(400, "The field 'datastoreType' is required and must be one of AzureBlob, AzureDataLakeGen1, AzureDataLakeGen2, AzureFile, OneLake.")
            creds = props.get("credentials")
            if not isinstance(creds, dict) or creds.get("credentialsType") not in ("AccountKey", "Certificate", "None", "Sas", "ServicePrincipal"):
                raise MlError(400, "The field 'credentials.credentialsType' is required.")
            _check_map(props, "tags")
            record = {"name": name, "properties": dict(props), "systemData": _system_data(ds["systemData"] if ds else None)}
            record["properties"].setdefault("isDefault", False)
            ws.datastores[name] = record
            return json_response(200 if ds else 201, self._datastore_body(ws, record))
        raise MlError(405, "Method not allowed", "MethodNotAllowed")

    # -- assets ------------------------------------------------------------------------------

    def _body(self, req):
        try:
            body = req.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise MlError(400, "The request body is not valid JSON: %s" % exc, "BadArgument")
        if not isinstance(body, dict):
            raise MlError(400, "The request body must be a JSON object.", "BadArgument")
        return body

    def container_body(self, ws, kind, cont):
        props = copy.deepcopy(cont["properties"])
        versions = cont["versions"]
        if versions:
            latest = max(versions.values(), key=lambda r: r["seq"])
            props["latestVersion"] = latest["name"]
        else:
            props["latestVersion"] = None
        numeric = [int(v) for v in versions if v.isdigit()]
        props["nextVersion"] = str(max(numeric) + 1) if numeric else ("1" if not versions else None)
        props.setdefault("isArchived", False)
        props.setdefault("provisioningState", "Succeeded")
        return {"id": "%s/%s/%s" % (self.ws_id(ws), kind, cont["name"]), "name": cont["name"],
                "type": "%s/workspaces/%s" % (PROVIDER, kind), "properties": props, "systemData": cont["systemData"]}

    def version_body(self, ws, kind, cont, ver):
        props = copy.deepcopy(ver["properties"])
        props.setdefault("isArchived", False)
        props.setdefault("isAnonymous", False)
        props.setdefault("provisioningState", "Succeeded")
        if kind == "environments":
            props.setdefault("environmentType", "UserCreated")
            props.setdefault("osType", "Linux")
            props.setdefault("autoRebuild", "Disabled")
        return {"id": "%s/%s/%s/versions/%s" % (self.ws_id(ws), kind, cont["name"], ver["name"]), "name": ver["name"],
                "type": "%s/workspaces/%s/versions" % (PROVIDER, kind), "properties": props, "systemData": ver["systemData"]}

    def find_version(self, ws, kind, name, version):
        cont = ws.assets[kind].get(name)
        if cont is None:
            return None
        return cont["versions"].get(version)

    def _assets(self, req, ws, kind, rest, api):
        m = req.method
        store = ws.assets[kind]
        _, display, create_only, required = ASSETS[kind]
        if not rest:
            if m != "GET":
                raise MlError(405, "Method not allowed", "MethodNotAllowed")
            conts = sorted(store.values(), key=lambda c: c["seq"], reverse=True)
            view = (req.q("listViewType") or "ActiveOnly").lower()
            conts = [c for c in conts if self._view_ok(c["properties"], view)]
            return self._page(req, [self.container_body(ws, kind, c) for c in conts])
        name = rest[0]
        cont = store.get(name)
        if len(rest) == 1:
            if m == "GET":
                if cont is None:
                    raise MlError(404, "%s container %s not found." % (display, name), "NotFoundError")
                return json_response(200, self.container_body(ws, kind, cont))
            if m == "DELETE":
                return Response(200 if store.pop(name, None) else 204)
            if m == "PUT":
                _check_name(name)
                props = self._props(self._body(req))
                for f in ("tags", "properties"):
                    _check_map(props, f)
                _check_type(props, "description", str, "a string")
                _check_type(props, "isArchived", bool, "a boolean")
                if kind == "data":
                    if "dataType" not in props:
                        raise MlError(400, "The field 'dataType' is required.")
                    if _norm(props["dataType"]) not in DATA_TYPES:
                        raise MlError(400, "The field 'dataType' must be one of uri_file, uri_folder, mltable.")
                    if cont and _norm(cont["properties"].get("dataType")) != _norm(props["dataType"]):
                        raise MlError(400, "%s container %s is already registered and its dataType cannot be changed." % (display, name), "Immutable")
                created = cont is None
                if created:
                    cont = store[name] = {"name": name, "versions": {}, "seq": self._seq(ws), "systemData": _system_data(), "properties": {}}
                else:
                    cont["systemData"] = _system_data(cont["systemData"])
                cont["properties"] = {k: v for k, v in props.items() if k not in ("latestVersion", "nextVersion")}
                return json_response(201 if created else 200, self.container_body(ws, kind, cont))
            raise MlError(405, "Method not allowed", "MethodNotAllowed")
        if rest[1].lower() != "versions":
            raise MlError(404, "Route not found", "NotFoundError")
        if len(rest) == 2:
            if m != "GET":
                raise MlError(405, "Method not allowed", "MethodNotAllowed")
            versions = list(cont["versions"].values()) if cont else []
            return self._list_versions(req, ws, kind, cont, versions)
        version = rest[2]
        if len(rest) == 4 and rest[3].lower() == "startpendingupload" and m == "POST":
            return self._pending_upload(req, ws, kind, name, version)
        if len(rest) != 3:
            raise MlError(404, "Route not found", "NotFoundError")
        ver = cont["versions"].get(version) if cont else None
        if m == "GET":
            if ver is None:
                raise MlError(404, "%s %s:%s not found." % (display, name, version), "NotFoundError")
            return json_response(200, self.version_body(ws, kind, cont, ver))
        if m == "DELETE":
            if ver is None:
                return Response(204)
            del cont["versions"][version]
            return Response(200)
        if m != "PUT":
            raise MlError(405, "Method not allowed", "MethodNotAllowed")
        _check_name(name)
        if not version or len(version) > 255 or "/" in version:
            raise MlError(400, "Invalid version '%s'." % version)
        props = self._props(self._body(req))
        self._validate_version(kind, props, required, display)
        if kind == "models" and ver is None:
            self._check_model_lineage(ws, props)
        if ver is not None:
            old = ver["properties"]
            for field in create_only:
                if field in props and field in old and not self._same(field, props[field], old[field]):
                    raise MlError(400, "%s %s with version %s is already registered and cannot be changed. "
                                  "Field '%s' is create-only; register a new version instead." % (display, name, version, field), "Immutable")
                if (field in props) != (field in old) and (props.get(field) or old.get(field)):
                    raise MlError(400, "%s %s with version %s is already registered and cannot be changed. "
                                  "Field '%s' is create-only; register a new version instead." % (display, name, version, field), "Immutable")
            old_p, new_p = old.get("properties") or {}, props.get("properties") or {}
            for k, v in old_p.items():
                if k not in new_p or new_p[k] != v:
                    raise MlError(400, "Value of property '%s' of %s %s:%s cannot be replaced or removed without increasing the version." % (
                        k, display, name, version), "Immutable")
            merged = dict(old)
            for field in MUTABLE_ASSET_FIELDS:
                if field in props:
                    merged[field] = props[field]
            ver["properties"] = merged
            ver["systemData"] = _system_data(ver["systemData"])
            return json_response(200, self.version_body(ws, kind, cont, ver))
        if cont is None:
            cont = ws.assets[kind][name] = {"name": name, "versions": {}, "seq": self._seq(ws), "systemData": _system_data(),
                                            "properties": {"description": None, "tags": {}, "properties": {}, "isArchived": False}}
            if kind == "data":
                cont["properties"]["dataType"] = props.get("dataType")
        if kind == "data" and _norm(cont["properties"].get("dataType")) != _norm(props.get("dataType")):
            raise MlError(400, "The dataType '%s' does not match the dataType '%s' of data container %s." % (
                props.get("dataType"), cont["properties"].get("dataType"), name))
        ver = {"name": version, "seq": self._seq(ws), "properties": props, "systemData": _system_data()}
        cont["versions"][version] = ver
        return json_response(201, self.version_body(ws, kind, cont, ver))

    @staticmethod
    def _check_model_lineage(ws, props):
        """A new model version's jobName names a job of the workspace (the
        service links the version to it). A modelUri
        azureml://jobs/<job>/outputs/<output>[/paths/...] of a job the
        workspace has names an output the job declares (or `artifacts`).
        A modelUri of a job the sandbox never ran is left as it is written,
        as before: nothing documented says the service resolves it."""
        job_name = props.get("jobName")
        if job_name is not None and job_name not in ws.jobs:
            raise MlError(400, "Job '%s' referenced by jobName was not found in workspace %s." % (job_name, ws.name))
        m = re.match(r"^azureml://jobs/([^/]+)/outputs/([^/]+)(/.*)?$", props.get("modelUri") or "")
        job = ws.jobs.get(m.group(1)) if m else None
        if job is None or m.group(2) == "artifacts":
            return
        if m.group(2) not in (job["properties"].get("outputs") or {}):
            raise MlError(400, "Job '%s' has no output '%s' (modelUri %s)." % (m.group(1), m.group(2), props["modelUri"]))

    @staticmethod
    def _same(field, a, b):
        if field in ("dataType",):
            return _norm(a) == _norm(b)
        if field == "modelType":
            return MODEL_TYPES.get(_norm(a), _norm(a)) == MODEL_TYPES.get(_norm(b), _norm(b))
        if field in ("dataUri", "modelUri", "codeUri") and isinstance(a, str) and isinstance(b, str):
            return a.rstrip("/") == b.rstrip("/")
        return a == b

    def _seq(self, ws):
        ws.version_seq += 1
        return ws.version_seq

    def _props(self, body):
        props = body.get("properties")
        if props is None:
            raise MlError(400, "The request body must contain 'properties'.")
        if not isinstance(props, dict):
            raise MlError(400, "The field 'properties' must be an object.")
        return copy.deepcopy(props)

    def _validate_version(self, kind, props, required, display):
        for field in required:
            if props.get(field) in (None, ""):
                raise MlError(400, "The field '%s' is required for a %s version." % (field, display.lower()))
        for f in ("tags", "properties"):
            _check_map(props, f)
        _check_type(props, "description", str, "a string")
        _check_type(props, "isArchived", bool, "a boolean")
        _check_type(props, "isAnonymous", bool, "a boolean")
        if kind == "data":
            if _norm(props["dataType"]) not in DATA_TYPES:
                raise MlError(400, "The field 'dataType' must be one of uri_file, uri_folder, mltable.")
            _check_type(props, "dataUri", str, "a string")
        if kind == "models":
            _check_type(props, "modelUri", str, "a string")
            _check_type(props, "flavors", dict, "an object")
        if kind == "codes":
            _check_type(props, "codeUri", str, "a string")
        if kind == "environments":
            _check_type(props, "condaFile", str, "a string (the YAML text)")
            _check_type(props, "image", str, "a string")
            _check_type(props, "build", dict, "an object")
            if not props.get("image") and not props.get("build"):
                raise MlError(400, "An environment version needs 'image' or 'build'.")

    @staticmethod
    def _view_ok(props, view):
        archived = bool(props.get("isArchived"))
        return view == "all" or (view == "archivedonly" and archived) or (view == "activeonly" and not archived)

    def _list_versions(self, req, ws, kind, cont, versions):
        order = (req.q("$orderBy") or "createdtime desc").lower()
        reverse = not order.endswith("asc")
        key = (lambda r: r["systemData"]["lastModifiedAt"]) if order.startswith("modified") else (lambda r: r["seq"])
        versions = sorted(versions, key=key, reverse=reverse)
        view = (req.q("listViewType") or "ActiveOnly").lower()
        versions = [v for v in versions if self._view_ok(v["properties"], view)]
        tag_param = "$tags" if kind == "data" else "tags"
        if req.q(tag_param) is not None:
            wanted = _tag_filter(req.q(tag_param))
            versions = [v for v in versions if _matches_tags(v["properties"].get("tags"), wanted)]
        if req.q("properties") is not None:
            wanted = _tag_filter(req.q("properties"))
            versions = [v for v in versions if _matches_tags(v["properties"].get("properties"), wanted)]
        if kind == "models" and req.q("version"):
            versions = [v for v in versions if v["name"] == req.q("version")]
        if kind == "models" and req.q("description"):
            versions = [v for v in versions if v["properties"].get("description") == req.q("description")]
        if kind == "codes" and req.q("hash"):
            # hash lookups search every code container, as the service does
            versions = [v for c in ws.assets["codes"].values() for v in c["versions"].values()
                        if (v["properties"].get("properties") or {}).get("hash_sha256") == req.q("hash")]
            items = [self.version_body(ws, kind, c, v) for c in ws.assets["codes"].values()
                     for v in c["versions"].values() if v in versions]
            return self._page(req, items)
        return self._page(req, [self.version_body(ws, kind, cont, v) for v in versions])

    def _pending_upload(self, req, ws, kind, name, version):
        body = self._body(req) if req.body else {}
        ptype = body.get("pendingUploadType", "TemporaryBlobReference")
        upload_id = body.get("pendingUploadId") or str(uuid.uuid4())
        if ptype not in ("None", "TemporaryBlobReference"):
            raise MlError(400, "pendingUploadType must be None or TemporaryBlobReference.")
        account = cfg.WORKSPACE_STORAGE_ACCOUNT
        container = cfg.WORKSPACE_BLOB_CONTAINER if kind != "codes" else cfg.WORKSPACE_BLOB_CONTAINER
        prefix = "LocalUpload/%s" % upload_id.replace("-", "")
        blob_uri = "%s/%s" % (self.app.blob.url(account, container), prefix)
        sas = self.app.blob.sas(account, container, "", "racwdl", 6 * 3600)
        return json_response(200, {
            "pendingUploadId": upload_id, "pendingUploadType": ptype,
            "blobReferenceForConsumption": {
                "blobUri": blob_uri,
                "storageAccountArmId": "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s" % (
                    self.app.subscription_id, ws.rg, account),
                "credential": {"credentialType": "SAS", "sasUri": "%s?%s" % (blob_uri, sas)}}})

    # -- computes ---------------------------------------------------------------------------

    def _computes(self, req, ws, rest):
        def body(name):
            return {"id": "%s/computes/%s" % (self.ws_id(ws), name), "name": name, "type": "%s/workspaces/computes" % PROVIDER,
                    "location": ws.location, "properties": {"computeType": "AmlCompute", "provisioningState": "Succeeded",
                                                           "properties": {"vmSize": "STANDARD_DS3_V2", "scaleSettings": {"minNodeCount": 0, "maxNodeCount": 4}}}}
        if not rest and req.method == "GET":
            return json_response(200, {"value": [body("cpu-cluster")]})
        if len(rest) == 1 and req.method == "GET":
            return json_response(200, body(rest[0]))
        raise MlError(405, "Computes are read-only in the sandbox.", "MethodNotAllowed")

    # -- jobs ---------------------------------------------------------------------------------

    def job_body(self, ws, job):
        props = copy.deepcopy(job["properties"])
        props["status"] = self.app.executor.status(ws, job["name"])
        props.setdefault("parameters", {})
        props.setdefault("services", {})
        studio = "https://ml.azure.com/runs/%s?wsid=%s" % (job["name"], self.ws_id(ws))
        props["services"].setdefault("Studio", {"jobServiceType": "Studio", "endpoint": studio, "status": None,
                                                "errorMessage": None, "port": None, "properties": None})
        props["services"].setdefault("Tracking", {"jobServiceType": "Tracking", "endpoint": self.tracking_uri(ws), "status": None,
                                                  "errorMessage": None, "port": None, "properties": None})
        for svc in props["services"].values():
            if isinstance(svc, dict):
                svc.setdefault("status", None)
                svc.setdefault("errorMessage", None)
        err = self.app.executor.error(ws, job["name"])
        if err:
            props["error"] = err
        return {"id": "%s/jobs/%s" % (self.ws_id(ws), job["name"]), "name": job["name"],
                "type": "%s/workspaces/jobs" % PROVIDER, "properties": props, "systemData": job["systemData"]}

    def _jobs(self, req, ws, rest, api):
        m = req.method
        if not rest:
            if m != "GET":
                raise MlError(405, "Method not allowed", "MethodNotAllowed")
            jobs = sorted(ws.jobs.values(), key=lambda j: j["seq"], reverse=True)
            if req.q("jobType"):
                jobs = [j for j in jobs if j["properties"].get("jobType", "").lower() == req.q("jobType").lower()]
            if req.q("tag"):
                wanted = _tag_filter(req.q("tag"))
                jobs = [j for j in jobs if _matches_tags(j["properties"].get("tags"), wanted)]
            view = (req.q("listViewType") or "ActiveOnly").lower()
            jobs = [j for j in jobs if self._view_ok(j["properties"], view)]
            return self._page(req, [self.job_body(ws, j) for j in jobs])
        name = rest[0]
        job = ws.jobs.get(name)
        if len(rest) == 2 and rest[1].lower() == "cancel" and m == "POST":
            if job is None:
                raise MlError(404, "Job %s not found." % name, "NotFoundError")
            self.app.executor.cancel(ws, name)
            op = self.ops.start("jobcancel", name, steps=0)
            op.data["ws"] = ws
            loc = self.op_url(ws, "mfeOperationResults", op, api)
            return Response(202, b"", [("Location", loc), ("Retry-After", self.retry_after())])
        if len(rest) != 1:
            raise MlError(404, "Route not found", "NotFoundError")
        if m == "GET":
            if job is None:
                raise MlError(404, "Job %s not found." % name, "NotFoundError")
            return json_response(200, self.job_body(ws, job))
        if m == "DELETE":
            if job is None:
                return Response(204)
            self.app.executor.cancel(ws, name)
            del ws.jobs[name]
            return Response(200)
        if m != "PUT":
            raise MlError(405, "Method not allowed", "MethodNotAllowed")
        _check_name(name, "job name")
        props = self._props(self._body(req))
        if job is not None:
            old = job["properties"]
            for k, v in props.items():
                if k in ("tags", "description", "properties", "status", "services", "parameters", "isArchived", "displayName"):
                    continue
                if old.get(k) != v:
                    raise MlError(400, "Job %s already exists and its field '%s' cannot be changed; only tags, description and "
                                  "properties can be updated." % (name, k), "JobPropertyImmutable")
            for k in ("tags", "description", "isArchived", "displayName"):
                if k in props:
                    old[k] = props[k]
            if "properties" in props and isinstance(props["properties"], dict):
                old.setdefault("properties", {}).update(props["properties"])
            job["systemData"] = _system_data(job["systemData"])
            return json_response(200, self.job_body(ws, job))
        if not props.get("jobType"):
            raise MlError(400, "The field 'jobType' is required.")
        if props["jobType"] not in ("Command", "Sweep", "Pipeline", "AutoML", "Spark"):
            raise MlError(400, "The field 'jobType' must be one of AutoML, Command, Sweep, Pipeline, Spark.")
        if props["jobType"] == "Command":
            for field in ("command", "environmentId"):
                if not isinstance(props.get(field), str) or not props[field].strip():
                    raise MlError(400, "The field '%s' is required for a command job." % field)
        for f in ("tags", "properties", "environmentVariables"):
            _check_map(props, f)
        for f in ("inputs", "outputs"):
            _check_type(props, f, dict, "an object")
        _check_command_compute(props)
        for iname, inp in (props.get("inputs") or {}).items():
            if not isinstance(inp, dict) or inp.get("jobInputType") not in (
                    "literal", "uri_file", "uri_folder", "mltable", "custom_model", "mlflow_model", "triton_model"):
                raise MlError(400, "Input '%s' needs a valid jobInputType." % iname)
        for oname, out in (props.get("outputs") or {}).items():
            if not isinstance(out, dict) or out.get("jobOutputType") not in (
                    "uri_file", "uri_folder", "mltable", "custom_model", "mlflow_model", "triton_model"):
                raise MlError(400, "Output '%s' needs a valid jobOutputType." % oname)
        props.setdefault("experimentName", "Default")
        props.setdefault("displayName", name)
        props.setdefault("tags", {})
        props.setdefault("properties", {})
        props.setdefault("isArchived", False)
        props.pop("status", None)
        if props["jobType"] == "Pipeline":
            try:
                pipeline.order(props)
            except pipeline.PipelineError as exc:
                raise MlError(400, str(exc))
        job = {"name": name, "seq": self._seq(ws), "properties": props, "systemData": _system_data(), "created": time.time()}
        ws.jobs[name] = job
        if props["jobType"] == "Pipeline":
            self.app.pipelines.submit(ws, job)
        else:
            self.app.executor.submit(ws, job, fail=req.wants_lro_failure())
        return json_response(201, self.job_body(ws, job))

    # -- online endpoints ------------------------------------------------------------------------

    def endpoint_body(self, ws, ep):
        body = copy.deepcopy(ep["resource"])
        body.update({"id": "%s/onlineEndpoints/%s" % (self.ws_id(ws), ep["name"]), "name": ep["name"],
                     "type": "%s/workspaces/onlineEndpoints" % PROVIDER, "systemData": ep["systemData"]})
        props = body["properties"]
        props["provisioningState"] = ep["state"]
        props["scoringUri"] = "https://%s.%s.inference.ml.azure.com/score" % (ep["name"].lower(), ws.location)
        props["swaggerUri"] = "https://%s.%s.inference.ml.azure.com/swagger.json" % (ep["name"].lower(), ws.location)
        props["keys"] = None
        props.setdefault("traffic", {})
        props.setdefault("mirrorTraffic", {})
        props.setdefault("publicNetworkAccess", "Enabled")
        props.setdefault("properties", {})
        body["identity"] = self._identity(body.get("identity"))
        return body

    def _identity(self, identity):
        identity = copy.deepcopy(identity) if isinstance(identity, dict) else {"type": "SystemAssigned"}
        identity.setdefault("type", "SystemAssigned")
        identity["principalId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(identity.get("type"))))
        identity["tenantId"] = self.app.tenant_id
        uai = identity.get("userAssignedIdentities") or {}
        identity["userAssignedIdentities"] = {k: {"principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, "p" + k)),
                                                  "clientId": str(uuid.uuid5(uuid.NAMESPACE_URL, "c" + k))} for k in uai}
        return identity

    def deployment_body(self, ws, ep, dep):
        body = copy.deepcopy(dep["resource"])
        body.update({"id": "%s/onlineEndpoints/%s/deployments/%s" % (self.ws_id(ws), ep["name"], dep["name"]),
                     "name": dep["name"], "type": "%s/workspaces/onlineEndpoints/deployments" % PROVIDER,
                     "systemData": dep["systemData"]})
        body["properties"]["provisioningState"] = dep["state"]
        body["identity"] = self._identity(body.get("identity"))
        body.setdefault("sku", {"name": "Default", "capacity": 1})
        return body

    def _lro_error(self, req, default=None):
        if req.wants_lro_failure():
            return {"code": "ResourceNotReady", "message": "User container has crashed or terminated: the liveness probe "
                    "failed (injected by the sandbox fault script)."}
        return default

    def _accepted_put(self, ws, op, api, created, body):
        headers = [("Azure-AsyncOperation", self.op_url(ws, "mfeOperationsStatus", op, api)),
                   ("x-ms-async-operation-timeout", "PT1H"), ("Retry-After", self.retry_after())]
        return json_response(201 if created else 200, body, headers)

    def _accepted_location(self, ws, op, api):
        return Response(202, b"", [("Location", self.op_url(ws, "mfeOperationResults", op, api)),
                                   ("Retry-After", self.retry_after()), ("x-ms-async-operation-timeout", "PT1H")])

    def _endpoints(self, req, ws, rest, api):
        m = req.method
        if not rest:
            if m != "GET":
                raise MlError(405, "Method not allowed", "MethodNotAllowed")
            eps = sorted(ws.endpoints.values(), key=lambda e: e["seq"])
            if req.q("name"):
                eps = [e for e in eps if e["name"] == req.q("name")]
            if req.q("tags"):
                wanted = _tag_filter(req.q("tags"))
                eps = [e for e in eps if _matches_tags(e["resource"].get("tags"), wanted)]
            return self._page(req, [self.endpoint_body(ws, e) for e in eps])
        name = rest[0]
        ep = ws.endpoints.get(name)
        if len(rest) >= 2 and rest[1].lower() == "deployments":
            if ep is None:
                raise MlError(404, "Online endpoint %s not found." % name, "NotFoundError")
            return self._deployments(req, ws, ep, rest[2:], api)
        if len(rest) == 2 and m == "POST":
            action = rest[1].lower()
            if ep is None:
                raise MlError(404, "Online endpoint %s not found." % name, "NotFoundError")
            if action == "listkeys":
                return json_response(200, {"primaryKey": ep["keys"][0], "secondaryKey": ep["keys"][1]})
            if action == "regeneratekeys":
                body = self._body(req)
                kt = body.get("keyType")
                if kt not in ("Primary", "Secondary"):
                    raise MlError(400, "keyType must be Primary or Secondary.")
                i = 0 if kt == "Primary" else 1
                ep["keys"][i] = body.get("keyValue") or secrets.token_urlsafe(24)
                return json_response(200, None)
            if action == "token":
                now = time.time()
                return json_response(200, {"accessToken": self.app.entra.issue("https://ml.azure.com", "sandbox", "sandbox")[0],
                                           "expiryTimeUtc": int(now + 3600), "refreshAfterTimeUtc": int(now + 1800), "tokenType": "Bearer"})
            raise MlError(404, "Route not found", "NotFoundError")
        if len(rest) != 1:
            raise MlError(404, "Route not found", "NotFoundError")
        if m == "GET":
            if ep is None:
                raise MlError(404, "Online endpoint %s not found." % name, "NotFoundError")
            return json_response(200, self.endpoint_body(ws, ep))
        if m == "PUT":
            return self._put_endpoint(req, ws, name, ep, api)
        if m == "PATCH":
            if ep is None:
                raise MlError(404, "Online endpoint %s not found." % name, "NotFoundError")
            body = self._body(req)
            extra = [k for k in body if k not in ("tags", "identity", "sku", "kind")]
            if extra:
                raise MlError(400, "Only tags and identity can be patched on an online endpoint; use PUT to change %s." % ", ".join(extra))
            if "tags" in body:
                ep["resource"]["tags"] = body["tags"]
            if "identity" in body:
                ep["resource"]["identity"] = body["identity"]
            ep["state"] = "Updating"
            ep["systemData"] = _system_data(ep["systemData"])
            op = self.ops.start("endpoint", name, 2, self._lro_error(req), self._endpoint_done(ws, name), {"ws": ws, "result": "endpoint"})
            return self._accepted_location(ws, op, api)
        if m == "DELETE":
            if ep is None:
                return Response(204)
            ep["state"] = "Deleting"
            op = self.ops.start("endpoint-delete", name, 2, self._lro_error(req), self._endpoint_deleted(ws, name), {"ws": ws})
            return self._accepted_location(ws, op, api)
        raise MlError(405, "Method not allowed", "MethodNotAllowed")

    def _put_endpoint(self, req, ws, name, ep, api):
        _check_name(name, "endpoint name", ENDPOINT_NAME_RE)
        body = self._body(req)
        if not body.get("location"):
            raise MlError(400, "The field 'location' is required.")
        props = body.get("properties")
        if not isinstance(props, dict):
            raise MlError(400, "The field 'properties' is required.")
        if props.get("authMode") not in ("AMLToken", "Key", "AADToken"):
            raise MlError(400, "The field 'properties.authMode' is required and must be one of AMLToken, Key, AADToken.")
        for f in ("traffic", "mirrorTraffic"):
            value = props.get(f)
            if value is not None and (not isinstance(value, dict) or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100 for v in value.values())):
                raise MlError(400, "The field '%s' must map deployment names to integers between 0 and 100." % f)
        _check_map(body, "tags")
        if ep is not None and ep["state"] in ("Creating", "Updating", "Deleting"):
            raise MlError(409, "Online endpoint %s has an operation in progress (%s)." % (name, ep["state"]), "Conflict")
        resource = {k: copy.deepcopy(v) for k, v in body.items() if k in ("location", "identity", "kind", "tags", "sku", "properties")}
        resource["properties"] = {k: v for k, v in resource["properties"].items()
                                  if k not in ("provisioningState", "scoringUri", "swaggerUri", "keys")}
        resource.setdefault("tags", {})
        resource.setdefault("kind", "Managed")
        created = ep is None
        # Traffic is validated when the operation runs, as the service does asynchronously.
        pending_traffic = (resource["properties"].get("traffic") or {}, resource["properties"].get("mirrorTraffic") or {})
        if created:
            ep = {"name": name, "seq": self._seq(ws), "deployments": {}, "systemData": _system_data(),
                  "keys": [secrets.token_urlsafe(24), secrets.token_urlsafe(24)], "applied_traffic": ({}, {})}
            ws.endpoints[name] = ep
        else:
            ep["systemData"] = _system_data(ep["systemData"])
        old_props = ep.get("resource", {}).get("properties", {})
        resource["properties"]["traffic"] = dict(old_props.get("traffic") or {}) if not created else {}
        resource["properties"]["mirrorTraffic"] = dict(old_props.get("mirrorTraffic") or {}) if not created else {}
        ep["resource"] = resource
        ep["state"] = "Creating" if created else "Updating"
        ep["pending_traffic"] = pending_traffic
        op = self.ops.start("endpoint", name, 3, self._lro_error(req), self._endpoint_done(ws, name), {"ws": ws})
        body = self.endpoint_body(ws, ep)
        body["properties"]["traffic"] = dict(pending_traffic[0])
        return self._accepted_put(ws, op, api, created, body)

    def _traffic_error(self, ep, traffic, mirror):
        missing = [d for d in list(traffic) + list(mirror) if d not in ep["deployments"]]
        if missing:
            return {"code": "BadArgument", "message": "Traffic cannot be routed to deployment(s) %s of endpoint %s: they do not exist." % (
                ", ".join(sorted(missing)), ep["name"])}
        total = sum(traffic.values())
        if traffic and total != 100:
            return {"code": "BadArgument", "message": "Traffic values of endpoint %s must sum to 100 (they sum to %d)." % (ep["name"], total)}
        if sum(mirror.values()) > 50:
            return {"code": "BadArgument", "message": "Mirror traffic of endpoint %s must be at most 50." % ep["name"]}
        return None

    def _endpoint_done(self, ws, name):
        def done(op):
            ep = ws.endpoints.get(name)
            if ep is None:
                return
            if op.status == "Succeeded" and ep.get("pending_traffic"):
                err = self._traffic_error(ep, *ep["pending_traffic"])
                if err:
                    op.status, op.fail_error = "Failed", err
                else:
                    ep["resource"]["properties"]["traffic"] = dict(ep["pending_traffic"][0])
                    ep["resource"]["properties"]["mirrorTraffic"] = dict(ep["pending_traffic"][1])
            ep.pop("pending_traffic", None)
            ep["state"] = "Succeeded" if op.status == "Succeeded" else "Failed"
            op.data["body"] = self.endpoint_body(ws, ep)
        return done

    def _endpoint_deleted(self, ws, name):
        def done(op):
            ep = ws.endpoints.get(name)
            if ep is None:
                return
            if op.status == "Succeeded":
                del ws.endpoints[name]
                self.scoring.stop_prefix(self._dep_key(ws, ep))
            else:
                ep["state"] = "Failed"
        return done

    # -- online deployments --------------------------------------------------------------------

    def _deployments(self, req, ws, ep, rest, api):
        m = req.method
        if not rest:
            if m != "GET":
                raise MlError(405, "Method not allowed", "MethodNotAllowed")
            deps = sorted(ep["deployments"].values(), key=lambda d: d["seq"])
            return self._page(req, [self.deployment_body(ws, ep, d) for d in deps])
        name = rest[0]
        dep = ep["deployments"].get(name)
        if len(rest) == 2:
            action = rest[1].lower()
            if dep is None:
                raise MlError(404, "Deployment %s not found in endpoint %s." % (name, ep["name"]), "NotFoundError")
            if action == "getlogs" and m == "POST":
                body = self._body(req) if req.body else {}
                ctype = body.get("containerType", "InferenceServer")
                if ctype not in ("InferenceServer", "StorageInitializer"):
                    raise MlError(400, "containerType must be InferenceServer or StorageInitializer.")
                lines = dep["logs"].get(ctype)
                tail = body.get("tail")
                if isinstance(tail, int) and tail > 0:
                    lines = lines[-tail:]
                return json_response(200, {"content": "".join(l + "\n" for l in lines)})
            if action == "skus" and m == "GET":
                return json_response(200, {"value": [{"resourceType": "%s/workspaces/onlineEndpoints/deployments" % PROVIDER,
                                                      "sku": {"name": "Default", "tier": "Standard"},
                                                      "capacity": {"minimum": 1, "maximum": 20, "default": 1, "scaleType": "Manual"}}]})
            raise MlError(404, "Route not found", "NotFoundError")
        if len(rest) != 1:
            raise MlError(404, "Route not found", "NotFoundError")
        if m == "GET":
            if dep is None:
                raise MlError(404, "Deployment %s not found in endpoint %s." % (name, ep["name"]), "NotFoundError")
            return json_response(200, self.deployment_body(ws, ep, dep))
        if m == "PUT":
            return self._put_deployment(req, ws, ep, name, dep, api)
        if m == "PATCH":
            if dep is None:
                raise MlError(404, "Deployment %s not found in endpoint %s." % (name, ep["name"]), "NotFoundError")
            body = self._body(req)
            extra = [k for k in body if k not in ("tags", "sku", "identity", "kind")]
            if extra:
                raise MlError(400, "Only tags, sku and identity can be patched on a deployment; use PUT to change %s." % ", ".join(extra))
            for k in ("tags", "sku", "identity"):
                if k in body:
                    dep["resource"][k] = body[k]
            dep["state"] = "Scaling" if "sku" in body else "Updating"
            dep["systemData"] = _system_data(dep["systemData"])
            op = self.ops.start("deployment", name, 2, self._lro_error(req), self._deployment_done(ws, ep, name), {"ws": ws})
            return self._accepted_location(ws, op, api)
        if m == "DELETE":
            if dep is None:
                return Response(204)
            if ep["resource"]["properties"].get("traffic", {}).get(name, 0) > 0:
                raise MlError(400, "Deployment %s of endpoint %s still receives traffic; set its traffic to 0 before deleting it." % (
                    name, ep["name"]), "BadArgument")
            dep["state"] = "Deleting"
            op = self.ops.start("deployment-delete", name, 2, self._lro_error(req), self._deployment_deleted(ws, ep, name), {"ws": ws})
            return self._accepted_location(ws, op, api)
        raise MlError(405, "Method not allowed", "MethodNotAllowed")

    def _put_deployment(self, req, ws, ep, name, dep, api):
        _check_name(name, "deployment name", DEPLOYMENT_NAME_RE)
        body = self._body(req)
        if not body.get("location"):
            raise MlError(400, "The field 'location' is required.")
        props = body.get("properties")
        if not isinstance(props, dict):
            raise MlError(400, "The field 'properties' is required.")
        if props.get("endpointComputeType") not in ("Managed", "Kubernetes", "AzureMLCompute"):
            raise MlError(400, "The field 'properties.endpointComputeType' is required and must be Managed, Kubernetes or AzureMLCompute.")
        sku = body.get("sku")
        if sku is not None and (not isinstance(sku, dict) or not isinstance(sku.get("capacity", 1), int) or sku.get("capacity", 1) < 0):
            raise MlError(400, "The field 'sku.capacity' must be a non-negative integer.")
        _check_map(props, "environmentVariables")
        if dep is not None:
            if dep["state"] in ("Creating", "Updating", "Scaling", "Deleting"):
                raise MlError(409, "Deployment %s has an operation in progress (%s)." % (name, dep["state"]), "Conflict")
            old = dep["resource"]["properties"]
            if props.get("instanceType") != old.get("instanceType"):
                raise MlError(400, "Field 'instanceType' of deployment %s cannot be changed; create a new deployment." % name, "Immutable")
        resource = {k: copy.deepcopy(v) for k, v in body.items() if k in ("location", "identity", "kind", "tags", "sku", "properties")}
        resource["properties"] = {k: v for k, v in resource["properties"].items() if k != "provisioningState"}
        resource.setdefault("tags", {})
        resource.setdefault("kind", "Managed")
        created = dep is None
        if created:
            dep = {"name": name, "seq": self._seq(ws), "systemData": _system_data(), "logs": scoring.Logs()}
            ep["deployments"][name] = dep
        else:
            dep["systemData"] = _system_data(dep["systemData"])
        dep["resource"] = resource
        dep["state"] = "Creating" if created else "Updating"
        error = self._lro_error(req) or self._deployment_reference_error(ws, resource["properties"])
        if error is None and (resource["properties"].get("codeConfiguration") or {}).get("codeId"):
            op = self._start_runtime(ws, ep, dep)
        else:
            # No scoring script (a no-code MLflow deployment): the sandbox
            # answers by echoing, with stand-in logs.
            self.scoring.stop(self._dep_key(ws, ep, name))
            self._write_logs(dep, resource, error)
            op = self.ops.start("deployment", name, 4, error, self._deployment_done(ws, ep, name), {"ws": ws})
        return self._accepted_put(ws, op, api, created, self.deployment_body(ws, ep, dep))

    # -- the deployment's containers (scoring.py) ---------------------------------------------

    @staticmethod
    def _dep_key(ws, ep, name=None):
        key = (ws.rg.lower(), ws.name.lower(), ep["name"].lower())
        return key + (name,) if name is not None else key

    def _start_runtime(self, ws, ep, dep):
        """Starts the deployment's scoring process; its operation ends when
        init() has completed (Succeeded) or failed (Failed with the error
        Azure reports), however long that takes, but not before the usual
        4 steps. With lro_step_seconds 0 the PUT itself waits."""
        props = dep["resource"]["properties"]
        name = dep["name"]
        model = self.app.executor._resolve_version(ws, "models", props["model"]) if props.get("model") else None
        uri = self._model_uri(ws, model) if model else None
        subdir = os.path.join(*(self._model_ref(props["model"], model) if model else ("none", "0")))
        code = props["codeConfiguration"]
        env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
               "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "AZUREML_SANDBOX": "1"}
        env.update({k: str(v) for k, v in (props.get("environmentVariables") or {}).items()})
        timeout = parse_duration((props.get("requestSettings") or {}).get("requestTimeout") or "") or 5.0
        prepare = self._preparer(ws, props.get("model"), uri, code["codeId"])
        key = self._dep_key(ws, ep, name)
        step = self.ops.step()
        if step <= 0:
            rt = self.scoring.start(key, dep["logs"], code.get("scoringScript"), env, timeout, prepare, subdir)
            rt.ready.wait(scoring.INIT_TIMEOUT_SECONDS + 60)
            return self.ops.start("deployment", name, 4, rt.error, self._deployment_done(ws, ep, name), {"ws": ws})
        op = self.ops.start("deployment", name, 10 ** 9, None, self._deployment_done(ws, ep, name), {"ws": ws})

        def on_ready(error):
            with self.ops.lock:
                op.fail_error = error
                op.steps = max(4, int((time.time() - op.started) / step) + 1)
        self.scoring.start(key, dep["logs"], code.get("scoringScript"), env, timeout, prepare, subdir, on_ready)
        return op

    @staticmethod
    def _model_ref(ref, model):
        m = re.search(r"/models/([^/]+)/versions/([^/]+)$", ref) or re.match(r"^azureml:([^:@/]+)[:@]([^:@/]+)$", ref)
        name = m.group(1) if m else "model"
        return name, model["name"]

    @staticmethod
    def _model_uri(ws, model):
        """The storage URI of a model version's files: azureml://jobs/<job>/outputs/<name>
        is the job's output (where the executor uploaded it), other forms as they are."""
        uri = model["properties"].get("modelUri") or ""
        m = re.match(r"^azureml://jobs/([^/]+)/outputs/([^/]+)/?(?:paths/(.*))?$", uri)
        if m and m.group(2) != "artifacts":
            job = ws.jobs.get(m.group(1)) or {}
            out = (job.get("properties", {}).get("outputs") or {}).get(m.group(2)) or {}
            base = out.get("uri") or "azureml://datastores/workspaceblobstore/paths/azureml/%s/%s/" % (m.group(1), m.group(2))
            uri = base.rstrip("/") + "/" + (m.group(3) or "")
        return uri

    def _preparer(self, ws, model_ref, uri, code_id):
        ex = self.app.executor

        def prepare(model_dir, code_dir, log):
            try:
                if uri:
                    log("Downloading model %s from %s" % (model_ref, uri.split("?")[0]))
                    account, container, prefix = ex._blob_location(ws, uri)
                    leaf = [p for p in prefix.split("/") if p][-1:] or ["model"]
                    dest = ex._download_prefix(account, container, prefix, os.path.join(model_dir, leaf[0]))
                    count = sum(len(f) for _, _, f in os.walk(dest)) if os.path.isdir(dest) else 1
                    log("Model download complete: %d file(s) in %s" % (count, os.path.relpath(dest, os.path.dirname(os.path.dirname(model_dir)))))
                ex._fetch_code(ws, code_id, code_dir)
                log("Code %s ready" % code_id)
            except JobFailure as exc:
                raise RuntimeError(str(exc))
            except BlobError as exc:
                raise RuntimeError("storage answered %s %s" % (exc.status, exc.code))
        return prepare

    def _resolve_asset(self, ws, ref, kind):
        """True when ref names an existing asset version (ARM id or azureml: short form)."""
        if not isinstance(ref, str) or not ref:
            return False
        if ref.startswith("azureml://registries/") or ref.startswith("azureml:AzureML-"):
            return True
        m = re.search(r"/%s/([^/]+)/versions/([^/]+)$" % kind, ref, re.I)
        if m is None:
            m = re.match(r"^azureml:([^:@/]+):([^:@/]+)$", ref)
        if m is None:
            return False
        return self.find_version(ws, kind, m.group(1), m.group(2)) is not None

    def _deployment_reference_error(self, ws, props):
        if props.get("model") is not None and not self._resolve_asset(ws, props.get("model"), "models"):
            return {"code": "BadArgument", "message": "Model '%s' was not found in workspace %s." % (props.get("model"), ws.name)}
        if props.get("environmentId") is not None and not self._resolve_asset(ws, props.get("environmentId"), "environments"):
            return {"code": "BadArgument", "message": "Environment '%s' was not found in workspace %s." % (props.get("environmentId"), ws.name)}
        code = (props.get("codeConfiguration") or {}).get("codeId")
        if code is not None and not self._resolve_asset(ws, code, "codes"):
            return {"code": "BadArgument", "message": "Code '%s' was not found in workspace %s." % (code, ws.name)}
        return None

    def _write_logs(self, dep, resource, error):
        now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        props = resource["properties"]
        for line in ("%s,000 | INFO | Downloading model %s" % (now, props.get("model")), "%s,000 | INFO | Model download complete" % now):
            dep["logs"].add("StorageInitializer", line)
        lines = ["%s,000 | INFO | Starting gunicorn 20.1.0" % now,
                 "%s,000 | INFO | Azure ML Inferencing HTTP server v1.0.0 (sandbox)" % now,
                 "%s,000 | INFO | Scoring script: %s" % (now, (props.get("codeConfiguration") or {}).get("scoringScript"))]
        if error:
            lines.append("%s,000 | ERROR | %s" % (now, error["message"]))
        else:
            lines += ["%s,000 | INFO | Users's init has completed successfully" % now,
                      "%s,000 | INFO | Listening at: http://0.0.0.0:31311" % now]
        for line in lines:
            dep["logs"].add("InferenceServer", line)

    def _deployment_done(self, ws, ep, name):
        def done(op):
            dep = ep["deployments"].get(name)
            if dep is not None:
                dep["state"] = "Succeeded" if op.status == "Succeeded" else "Failed"
                if op.status != "Succeeded":
                    self.scoring.stop(self._dep_key(ws, ep, name))
                op.data["body"] = self.deployment_body(ws, ep, dep)
        return done

    def _deployment_deleted(self, ws, ep, name):
        def done(op):
            if op.status == "Succeeded":
                ep["deployments"].pop(name, None)
                # A deleted deployment (it had 0%) leaves the traffic maps
                # (unconfirmed: the service shows no entry for it after).
                for key in ("traffic", "mirrorTraffic"):
                    (ep["resource"]["properties"].get(key) or {}).pop(name, None)
                self.scoring.stop(self._dep_key(ws, ep, name))
            elif name in ep["deployments"]:
                ep["deployments"][name]["state"] = "Failed"
        return done

    # -- operation status resources -----------------------------------------------------------

    def _operation(self, req, rest, kind):
        if req.method != "GET" or len(rest) != 2:
            raise MlError(404, "Route not found", "NotFoundError")
        op = self.ops.get(rest[1])
        if op is None:
            raise MlError(404, "Operation %s not found." % rest[1], "NotFoundError")
        if kind == "mfeoperationsstatus":
            return json_response(200, self.ops.status_body(op, req.url()),
                                 [] if op.done else [("Retry-After", self.retry_after())])
        if kind != "mfeoperationresults":
            raise MlError(404, "Route not found", "NotFoundError")
        if op.kind == "jobcancel":
            ws = op.data["ws"]
            if self.app.executor.status(ws, op.target) not in TERMINAL_JOB:
                return Response(202, b"", [("Location", req.url()), ("Retry-After", self.retry_after())])
            return Response(200)
        if not op.done:
            return Response(202, b"", [("Location", req.url()), ("Retry-After", self.retry_after())])
        if op.status == "Failed":
            return arm_error(400, op.fail_error.get("code", "Failed"), op.fail_error.get("message", "The operation failed."))
        if op.kind.endswith("-delete"):
            return Response(204)
        return json_response(200, op.data.get("body"))

    # -- scoring (the data plane of online endpoints) ------------------------------------------

    def score(self, req):
        started = time.time()
        self.ops.advance_all()
        label = req.host.split(".")[0]
        with self.lock:
            found = None
            for ws in self.workspaces.values():
                for ep in ws.endpoints.values():
                    if ep["name"].lower() == label:
                        found = (ws, ep)
            if found is None:
                return json_response(404, {"message": "Endpoint %s not found" % label})
            ws, ep = found
            if req.path.rstrip("/") != "/score":
                return json_response(404, {"message": "Not found"})
            token = req.bearer() or ""
            auth_mode = ep["resource"]["properties"].get("authMode")
            if auth_mode == "Key" and token not in ep["keys"]:
                return json_response(401, {"message": "Unauthorized: the key is missing or invalid"})
            if auth_mode != "Key" and not token:
                return json_response(401, {"message": "Unauthorized"})
            forced = req.header("azureml-model-deployment")
            target = self._score_target(ep, forced)
            # A deployment keeps serving while it is updated or scaled, as Azure's rolling updates do.
            if target is None or ep["deployments"][target]["state"] not in ("Succeeded", "Updating", "Scaling"):
                return json_response(424 if target is None else 503, {"message": "No healthy deployment receives traffic"})
            dep = ep["deployments"][target]
            ep_id = "%s/onlineEndpoints/%s" % (self.ws_id(ws), ep["name"])
            rt = self.scoring.get(self._dep_key(ws, ep, target))
            model = dep["resource"]["properties"].get("model")
            mirrors = [] if forced else self._mirrors(ws, ep)
        for mrt in mirrors:     # a copy of the request; its answer is discarded
            threading.Thread(target=mrt.score, args=(req.body or b"",), daemon=True).start()
        status, body, headers = self._serve(req, ep["name"], target, rt, model)
        rid = new_guid()
        headers += [("azureml-model-deployment", target), ("x-request-id", rid), ("x-ms-request-id", rid)]
        if req.header("x-ms-client-request-id"):
            headers.append(("x-ms-client-request-id", req.header("x-ms-client-request-id")))
        monitor = getattr(self.app, "monitor", None)
        if monitor is not None:
            monitor.record(ep_id, target, status, int((time.time() - started) * 1000))
        return Response(status, body, headers, "application/json")

    @staticmethod
    def _score_target(ep, forced):
        """The deployment a request goes to: the one the azureml-model-deployment
        header names (even at 0% traffic), else one drawn by the traffic shares."""
        if forced:
            return forced if forced in ep["deployments"] else None
        traffic = ep["resource"]["properties"].get("traffic") or {}
        live = [(d, w) for d, w in traffic.items() if w > 0 and d in ep["deployments"]]
        return random.choices([d for d, _ in live], [w for _, w in live])[0] if live else None

    def _mirrors(self, ws, ep):
        out = []
        for d, pct in (ep["resource"]["properties"].get("mirrorTraffic") or {}).items():
            dep = ep["deployments"].get(d)
            if dep is not None and dep["state"] == "Succeeded" and random.random() * 100 < pct:
                rt = self.scoring.get(self._dep_key(ws, ep, d))
                if rt is not None:
                    out.append(rt)
        return out

    def _serve(self, req, endpoint, target, rt, model):
        """(status, body, headers) from the deployment's scoring process, after the
        `unhealthy` fault, if one names this deployment, had its way."""
        fault = self.app.faults.unhealthy(endpoint, target)
        if fault is not None:
            if fault["latency_ms"] > 0:
                time.sleep(fault["latency_ms"] / 1000.0)
            if fault["failing"]:
                return fault["status"], json.dumps({"message": "upstream connect error or disconnect/reset before headers "
                                                               "(injected by the sandbox fault script)"}).encode(), []
        if rt is None:
            try:
                payload = json.loads(req.body or b"null")
            except ValueError:
                return 400, json.dumps({"message": "The request body is not JSON"}).encode(), []
            return 200, json.dumps({"deployment": target, "model": model, "input": payload}).encode(), []
        return rt.score(req.body or b"")
