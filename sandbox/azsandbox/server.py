"""The emulator process: wires the services together and runs the servers.

`python3 -m azsandbox serve --dir SANDBOX_DIR` reads SANDBOX_DIR/config.json
(written by `sandbox.sh start`) and serves:
  * the HTTPS CONNECT proxy (HTTPS_PROXY) for every production host name,
  * the control API on plain HTTP loopback (SANDBOX_CONTROL_URL),
  * the managed identity endpoint on plain HTTP loopback (IDENTITY_ENDPOINT).
"""
import collections
import http.client
import json
import os
import signal
import ssl
import sys
import threading
import time

from . import config as cfg
from .control import ControlServer
from .entra import Entra, ARM_AUDIENCES, STORAGE_AUDIENCES, LOGIN_HOST, entra_error
from .faults import Faults
from .github import GitHub, twirp_error
from .github_rest import IssueComments, GITHUB_API_HOST
from .blob import BlobClient
from .httpcore import Response, arm_error, json_response, new_guid, rfc1123
from .identity import IdentityServer
from .pki import RsaPrivateKey
from .proxy import ProxyServer

GITHUB_HOSTS = ("token.actions.githubusercontent.com", "pipelines.actions.githubusercontent.com",
                "results-receiver.actions.githubusercontent.com", GITHUB_API_HOST)


class App:
    def __init__(self, sandbox_dir):
        self.dir = sandbox_dir
        self.conf = cfg.load(sandbox_dir)
        c = self.conf
        self.tenant_id = c["tenant_id"]
        self.tenant_domains = {d.lower() for d in c.get("tenant_domains", [])}
        self.subscription_id = c["subscription_id"]
        self.location = c["location"]
        self.settings = dict(cfg.DEFAULT_SETTINGS)
        self.settings_lock = threading.Lock()
        self.signing_key = RsaPrivateKey.from_pem_file(c["signing_key"])
        self.signing_kid = c["signing_kid"]
        self.oidc_key = RsaPrivateKey.from_pem_file(c["oidc_key"])
        self.oidc_kid = c["oidc_kid"]
        self.oidc_issuer = cfg.OIDC_ISSUER
        self.github = c["github"]
        self.accounts = c["storage_accounts"]          # name -> key (never logged)
        self.results_account = cfg.RESULTS_STORAGE_ACCOUNT
        self.results_container = cfg.RESULTS_CONTAINER
        self.server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_tls.load_cert_chain(c["server_cert"], c["server_key"])
        self.blob = BlobClient(c["ports"]["azurite"], c["ca_cert"], self.accounts)
        self.faults = Faults()
        self.requests = collections.deque(maxlen=5000)
        self.log_lock = threading.Lock()
        self.log_file = open(os.path.join(sandbox_dir, "emulator.log"), "a", buffering=1)
        self.started = time.time()

        self.entra = Entra(self)
        self.github_svc = GitHub(self)
        self.github_rest = IssueComments(self)
        from .arm import Arm
        from .azureml import AzureML
        from .mlflow_api import MlflowApi
        from .executor import Executor
        from .pipeline import Pipelines
        from .monitor import Monitor
        self.monitor = Monitor(self)
        self.arm = Arm(self)
        self.azureml = AzureML(self)
        self.mlflow = MlflowApi(self)
        self.executor = Executor(self)
        self.pipelines = Pipelines(self)
        self.register_apps()

    # -- identity registrations ------------------------------------------------

    def register_apps(self):
        c = self.conf
        self.entra.apps = {}
        self.entra.register(c["apps"]["secret"]["client_id"], secrets=[c["apps"]["secret"]["client_secret"]],
                            display_name="sandbox-secret-app")
        with open(c["apps"]["certificate"]["cert_path"]) as f:
            self.entra.register(c["apps"]["certificate"]["client_id"], certificates=[f.read()],
                                display_name="sandbox-certificate-app")
        self.entra.register(c["apps"]["federated"]["client_id"], federated=c["apps"]["federated"]["credentials"],
                            display_name="sandbox-github-oidc-app")

    # -- lifecycle ---------------------------------------------------------------

    def reset(self):
        self.executor.reset()
        with self.settings_lock:
            self.settings = dict(cfg.DEFAULT_SETTINGS)
        self.faults.reset()
        self.requests.clear()
        self.register_apps()
        self.github_svc.reset()
        self.github_rest.reset()
        self.arm.reset()
        self.azureml.reset()
        self.mlflow.reset()
        self.monitor.reset()
        self.reset_storage()

    def reset_storage(self):
        for account in self.accounts:
            for container in self.blob.list_containers(account):
                self.blob.delete_container(account, container)
        self.ensure_storage()

    def ensure_storage(self):
        self.blob.ensure_container(cfg.WORKSPACE_STORAGE_ACCOUNT, cfg.WORKSPACE_BLOB_CONTAINER)
        self.blob.ensure_container(cfg.WORKSPACE_STORAGE_ACCOUNT, cfg.ARTIFACT_CONTAINER)
        self.blob.ensure_container(self.results_account, self.results_container)

    def dump(self):
        return {
            "tenant_id": self.tenant_id, "subscription_id": self.subscription_id,
            "settings": dict(self.settings), "apps": self.entra.dump(),
            "faults": self.faults.rules(), "faults_applied": self.faults.log(),
            "arm": self.arm.dump(), "azureml": self.azureml.dump(), "mlflow": self.mlflow.dump(),
            "artifacts": self.github_svc.dump(),
            "issue_comments": self.github_rest.dump(), "requests": list(self.requests)[-200:],
        }

    def log(self, message):
        with self.log_lock:
            self.log_file.write("%s %s\n" % (time.strftime("%H:%M:%S"), message))

    def record(self, method, host, path, status, started, fault=None):
        entry = {"method": method, "host": host, "path": path, "status": status,
                 "ms": int((time.time() - started) * 1000)}
        if fault:
            entry["fault"] = fault
        self.requests.append(entry)
        self.log("%s %s%s -> %s%s" % (method, host, path, status, " [fault %s]" % fault if fault else ""))

    def azurite_connection(self):
        return http.client.HTTPSConnection("127.0.0.1", self.conf["ports"]["azurite"], context=self.blob.ctx, timeout=300)

    # -- routing -----------------------------------------------------------------

    def blob_account(self, host):
        if host.endswith(".blob.core.windows.net"):
            account = host[: -len(".blob.core.windows.net")]
            if account in self.accounts:
                return account
        return None

    def is_blob_host(self, host):
        return self.blob_account(host) is not None

    def is_mlflow_host(self, host):
        return host.endswith(".api.azureml.ms")

    def is_inference_host(self, host):
        return host.endswith(".inference.ml.azure.com")

    def serves(self, host):
        return (host in (LOGIN_HOST, "management.azure.com") or host in GITHUB_HOSTS or self.is_blob_host(host)
                or self.is_mlflow_host(host) or self.is_inference_host(host))

    def dispatch(self, req):
        try:
            if req.host == LOGIN_HOST:
                return self.entra.handle(req)
            if req.host == GITHUB_API_HOST:
                return self.github_rest.handle(req)
            if req.host in GITHUB_HOSTS:
                return self.github_svc.handle(req)
            if req.host == "management.azure.com":
                return self._arm_headers(req, self._management(req))
            if self.is_mlflow_host(req.host):
                return self.mlflow.handle(req)
            if self.is_inference_host(req.host):
                return self.monitor.observe_scoring(req, self.azureml.score)
            return json_response(404, {"error": "unknown host"})
        except Exception as exc:  # a bug in the sandbox must not look like a network failure
            import traceback
            self.log("internal error on %s %s: %s" % (req.method, req.path, traceback.format_exc()))
            return arm_error(500, "InternalServerError", "Sandbox internal error: %s" % exc)

    def _management(self, req):
        token = req.bearer()
        if token is None:
            return arm_error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                             headers=[self._www_authenticate()])
        claims, reason = self.entra.validate_access_token(token, ARM_AUDIENCES)
        if reason == "expired":
            return self.expired_response()
        if reason == "audience":
            return arm_error(401, "InvalidAuthenticationTokenAudience",
                             "The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of "
                             "the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net',"
                             "'https://management.azure.com/','https://management.azure.com'." % claims.get("aud"),
                             headers=[self._www_authenticate("invalid_token")])
        if reason:
            return arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.",
                             headers=[self._www_authenticate("invalid_token")])
        req.claims = claims
        segs = [s for s in req.path.split("/") if s]
        low = [s.lower() for s in segs]
        if low in (["subscriptions"], ["tenants"]):
            return self.arm.handle_tenant_level(req, low[0])
        if len(low) >= 2 and low[0] == "subscriptions":
            if segs[1].lower() != self.subscription_id:
                return arm_error(404, "SubscriptionNotFound", "The subscription '%s' could not be found." % segs[1])
            if len(low) == 4 and low[2] == "operationresults":
                return self.arm.subscription_operation_result(req, segs[3])
            if len(low) in (3, 4) and low[2] in ("providers", "resources", "resourcegroups"):
                return self.arm.handle_basic(req, segs)
            if low[-3:] == ["providers", "microsoft.insights", "metrics"]:
                return self.monitor.handle(req, segs)
            if "microsoft.machinelearningservices" in low:
                return self.azureml.handle(req, segs)
            if "microsoft.resources" in low or "deployments" in low:
                return self.arm.handle(req, segs)
            if len(low) in (2, 4) or (len(low) == 5 and low[4] == "resources"):
                return self.arm.handle_basic(req, segs)
        return arm_error(400, "InvalidResourceType" if len(segs) > 2 else "NoRegisteredProviderFound",
                         "The resource type could not be found in the namespace for api version '%s'." % req.q("api-version", ""))

    def _arm_headers(self, req, resp):
        rid = new_guid()
        corr = req.header("x-ms-client-request-id") and req.header("x-ms-correlation-request-id") or new_guid()
        corr = req.header("x-ms-correlation-request-id") or corr
        resp.set_header("x-ms-request-id", rid)
        resp.set_header("x-ms-correlation-request-id", corr)
        resp.set_header("x-ms-routing-request-id", "EASTUS:%s:%s" % (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), rid))
        if req.header("x-ms-client-request-id"):
            resp.set_header("x-ms-client-request-id", req.header("x-ms-client-request-id"))
        kind = {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}.get(req.method, "writes")
        resp.set_header("x-ms-ratelimit-remaining-subscription-%s" % kind, "249" if kind == "reads" else "199")
        resp.set_header("x-ms-ratelimit-remaining-subscription-global-%s" % kind, "3749" if kind == "reads" else "2999")
        resp.set_header("Cache-Control", "no-cache")
        resp.set_header("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return resp

    def _www_authenticate(self, error=None):
        value = 'Bearer authorization_uri="https://login.microsoftonline.com/%s", error="%s", error_description="%s"' % (
            self.tenant_id, error or "invalid_token",
            "The access token has expired" if error == "expired" else "The authentication failed")
        return ("WWW-Authenticate", value)

    def expired_response(self):
        now = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime())
        return arm_error(401, "ExpiredAuthenticationToken",
                         "The access token expiry UTC time '%s' is earlier than current UTC time '%s'." % (
                             time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(time.time() - 60)), now),
                         headers=[self._www_authenticate("expired")])

    # -- faults and blob auth ---------------------------------------------------------

    def fault_response(self, fault, host):
        status = fault["status"] if fault["kind"] == "status" else 401
        headers = []
        if fault["kind"] == "status" and fault.get("retry_after") is not None:
            headers.append(("Retry-After", str(fault["retry_after"])))
        if status == 429:
            headers += [("x-ms-ratelimit-remaining-subscription-reads", "0"),
                        ("x-ms-ratelimit-remaining-subscription-writes", "0"),
                        ("x-ms-ratelimit-remaining-subscription-global-reads", "0"),
                        ("x-ms-ratelimit-remaining-subscription-global-writes", "0")]
        expired = fault["kind"] == "expired_token"
        if self.is_blob_host(host):
            if expired:
                code, msg = "InvalidAuthenticationInfo", "Server failed to authenticate the request. Lifetime validation failed. The token is expired."
                headers.append(("WWW-Authenticate", "Bearer authorization_uri=https://login.microsoftonline.com/%s/oauth2/authorize resource_id=https://storage.azure.com" % self.tenant_id))
            else:
                code, msg = {429: ("ServerBusy", "The server is busy."), 500: ("InternalError", "The server encountered an internal error. Please retry the request."),
                             503: ("ServerBusy", "The server is currently unable to receive requests. Please retry your request.")}.get(
                    status, ("InternalError", "Injected fault."))
            code = fault.get("code") or code
            resp = blob_error(status, code, fault.get("message") or msg)
            resp.headers += headers
            return resp
        if host == LOGIN_HOST:
            if expired:
                resp = entra_error(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
            elif status == 429:
                resp = entra_error(429, "temporarily_unavailable", 50196, "The server terminated an operation because it encountered a client request loop.")
            else:
                resp = entra_error(status, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
            resp.headers += headers
            return resp
        if host in GITHUB_HOSTS:
            code = {429: "resource_exhausted", 500: "internal", 503: "unavailable"}.get(status, "unavailable")
            resp = twirp_error("unauthenticated", "token expired") if expired else twirp_error(code, fault.get("message") or "injected fault")
            resp.status = status
            resp.headers += headers
            return resp
        if expired:
            return self.expired_response()
        code = fault.get("code") or {429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
                                     503: "ServiceUnavailable", 504: "GatewayTimeout"}.get(status, "InjectedFault")
        message = fault.get("message") or {429: "The request is being throttled as the limit has been reached for operation type - Write_ObservationWindow_00:05:00."}.get(
            status, "The server encountered an error (injected by the sandbox fault script).")
        resp = arm_error(status, code, message, headers=headers)
        if host == "management.azure.com":
            resp.headers.append(("x-ms-request-id", new_guid()))
            resp.headers.append(("x-ms-correlation-request-id", new_guid()))
        return resp

    def check_blob_auth(self, headers, host, target):
        """Bearer tokens are verified here (Azurite's basic OAuth checks no signature)."""
        auth = headers.get("Authorization") or ""
        if not auth[:7].lower() == "bearer ":
            return None
        account = self.blob_account(host)
        audiences = STORAGE_AUDIENCES | {"https://%s.blob.core.windows.net" % account, "https://%s.blob.core.windows.net/" % account}
        version = headers.get("x-ms-version") or ""
        if version < "2017-11-09":
            return blob_error(400, "InvalidHeaderValue", "Bearer authentication needs x-ms-version 2017-11-09 or later.")
        _, reason = self.entra.validate_access_token(auth[7:].strip(), audiences)
        if reason is None:
            return None
        detail = {"expired": "Lifetime validation failed. The token is expired.",
                  "audience": "Audience validation failed. Audience did not match."}.get(reason, "Signature validation failed.")
        resp = blob_error(401, "InvalidAuthenticationInfo", "Server failed to authenticate the request. Please refer to the "
                          "information in the www-authenticate header.", detail)
        resp.headers.append(("WWW-Authenticate", "Bearer authorization_uri=https://login.microsoftonline.com/%s/oauth2/authorize "
                             "resource_id=https://storage.azure.com" % self.tenant_id))
        return resp


def blob_error(status, code, message, auth_detail=None):
    rid = new_guid()
    body = '<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s\nRequestId:%s\nTime:%s</Message>%s</Error>' % (
        code, message, rid, time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime()),
        "<AuthenticationErrorDetail>%s</AuthenticationErrorDetail>" % auth_detail if auth_detail else "")
    return Response(status, body, [("x-ms-error-code", code), ("x-ms-request-id", rid), ("x-ms-version", "2021-12-02"),
                                   ("Date", rfc1123())], "application/xml")


def serve(sandbox_dir):
    app = App(sandbox_dir)
    ports = app.conf["ports"]
    proxy = ProxyServer(("127.0.0.1", ports["proxy"]), app)
    control = ControlServer(("127.0.0.1", ports["control"]), app)
    identity = IdentityServer(("127.0.0.1", ports["identity"]), app)
    servers = [proxy, control, identity]
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True) for s in servers]
    for t in threads:
        t.start()
    deadline = time.time() + 25
    while True:         # Azurite starts alongside us: wait for it
        try:
            app.ensure_storage()
            break
        except Exception as exc:
            if time.time() > deadline or stop.is_set():
                app.log("cannot prepare storage: %s" % exc)
                print("sandbox: cannot prepare storage in Azurite: %s" % exc, file=sys.stderr)
                return 1
            time.sleep(0.1)
    with open(os.path.join(sandbox_dir, "ready"), "w") as f:
        f.write(str(os.getpid()))
    app.log("emulator ready (proxy %d, control %d, identity %d)" % (ports["proxy"], ports["control"], ports["identity"]))
    while not stop.wait(1.0):
        pass
    app.log("emulator stopping")
    app.executor.shutdown()
    for s in servers:
        s.shutdown()
        s.server_close()
    try:
        os.unlink(os.path.join(sandbox_dir, "ready"))
    except OSError:
        pass
    return 0
