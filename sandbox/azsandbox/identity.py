"""Managed identity token endpoint on plain HTTP loopback.

Two shapes on one port, so tests never go near 169.254.169.254:
  * App Service / Container Apps: GET $IDENTITY_ENDPOINT?resource=...&api-version=2019-08-01
    with header X-IDENTITY-HEADER: $IDENTITY_HEADER
  * IMDS: GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=... with Metadata: true
"""
import hmac
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .entra import KNOWN_RESOURCES


class IdentityServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, app):
        self.app = app
        super().__init__(address, IdentityHandler)


class IdentityHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        app = self.server.app
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        started = time.time()
        faults = app.faults.match("GET", "identity", url.path, url.query)
        for f in faults:
            if f["kind"] == "delay":
                time.sleep(f["seconds"])
        for f in faults:
            if f["kind"] == "status":
                return self._reply(f["status"], {"error": "temporarily_unavailable", "error_description": "injected fault"})
        mi = app.conf["managed_identity"]
        if url.path == "/metadata/identity/oauth2/token":
            if self.headers.get("Metadata", "").lower() != "true":
                return self._reply(400, {"error": "invalid_request", "error_description": "Required metadata header not specified"})
            shape = "imds"
        elif url.path == "/msi/token":
            if not hmac.compare_digest(self.headers.get("X-IDENTITY-HEADER", ""), mi["header"]):
                return self._reply(401, {"statusCode": 401, "message": "X-IDENTITY-HEADER is missing or invalid."})
            shape = "appservice"
        else:
            return self._reply(404, {"error": "not_found"})
        if not q.get("api-version"):
            return self._reply(400, {"error": "invalid_request", "error_description": "Required query variable 'api-version' is missing"})
        resource = q.get("resource")
        if not resource:
            return self._reply(400, {"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"})
        if resource.endswith("/.default"):
            resource = resource[: -len("/.default")]
        if resource.rstrip("/") not in KNOWN_RESOURCES:
            return self._reply(400, {"error": "invalid_resource", "error_description": "AADSTS500011: The resource principal named %s was not found in the tenant." % resource})
        wanted = q.get("client_id") or q.get("msi_res_id") or q.get("mi_res_id") or q.get("object_id") or q.get("principal_id")
        if wanted and wanted not in (mi["client_id"], mi["principal_id"], mi["resource_id"]):
            return self._reply(400, {"error": "invalid_request", "error_description": "Identity not found"})
        token, lifetime, now = app.entra.issue(resource, mi["client_id"], mi["principal_id"], appidacr="2",
                                                extra={"xms_mirid": mi["resource_id"]})
        body = {"access_token": token, "expires_on": str(now + lifetime), "resource": resource, "token_type": "Bearer",
                "client_id": mi["client_id"]}
        if shape == "imds":
            body.update({"expires_in": str(lifetime), "ext_expires_in": str(lifetime), "not_before": str(now), "refresh_token": ""})
        app.record("GET", "identity", url.path, 200, started)
        self._reply(200, body)
