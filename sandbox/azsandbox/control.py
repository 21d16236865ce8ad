"""The control API for tests: plain HTTP on loopback (SANDBOX_CONTROL_URL).

  GET    /health                  {"ok": true}
  GET    /state                   everything the sandbox holds, as JSON
  POST   /reset                   back to the freshly started state (blobs too)
  GET    /config                  the run-time settings
  POST   /config                  {"token_lifetime_seconds": 5, "lro_step_seconds": 0.1, ...}
  GET    /faults                  the rules, each with its matched/applied counts
  POST   /faults                  one rule, a list, or {"faults": [...]}; answers the rules with ids
  DELETE /faults                  remove every rule (the log stays)
  DELETE /faults/{id}             remove one rule
  GET    /faults/log              every fault applied so far
  GET    /requests                the last requests through the proxy (method, host, path, status)
  POST   /tokens                  {"client_id", "audience", "lifetime_seconds"}: an access token as Entra
                                  would issue (a negative lifetime gives an already expired one)
  POST   /oidc-token              {"audience"}: a GitHub OIDC token as the ID token endpoint issues
  POST   /federated-credentials   {"client_id", "issuer", "subject", "audiences"}: add one to an app
"""
import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .config import DEFAULT_SETTINGS
from .faults import FaultError


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, app):
        self.app = app
        super().__init__(address, ControlHandler)


class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, obj):
        body = json.dumps(obj, indent=1, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        return json.loads(self.rfile.read(length))

    def do_GET(self):
        app = self.server.app
        path = self.path.split("?")[0].rstrip("/") or "/"
        if path in ("/", "/health"):
            return self._reply(200, {"ok": True, "uptime": __import__("time").time() - app.started})
        if path == "/state":
            return self._reply(200, app.dump())
        if path == "/config":
            return self._reply(200, app.settings)
        if path == "/faults":
            return self._reply(200, {"faults": app.faults.rules()})
        if path == "/faults/log":
            return self._reply(200, {"applied": app.faults.log()})
        if path == "/requests":
            return self._reply(200, {"requests": list(app.requests)})
        self._reply(404, {"error": "no such control route"})

    def do_POST(self):
        app = self.server.app
        path = self.path.split("?")[0].rstrip("/")
        try:
            body = self._body()
        except ValueError:
            return self._reply(400, {"error": "body is not JSON"})
        if path == "/reset":
            app.reset()
            return self._reply(200, {"ok": True})
        if path == "/config":
            if not isinstance(body, dict):
                return self._reply(400, {"error": "expected a JSON object"})
            unknown = [k for k in body if k not in DEFAULT_SETTINGS]
            if unknown:
                return self._reply(400, {"error": "unknown settings %s" % unknown, "known": sorted(DEFAULT_SETTINGS)})
            with app.settings_lock:
                for k, v in body.items():
                    app.settings[k] = type(DEFAULT_SETTINGS[k])(v)
            return self._reply(200, app.settings)
        if path == "/faults":
            specs = body.get("faults") if isinstance(body, dict) and "faults" in body else body
            specs = specs if isinstance(specs, list) else [specs]
            try:
                added = [app.faults.add(s) for s in specs]
            except (FaultError, TypeError, ValueError) as exc:
                return self._reply(400, {"error": str(exc)})
            return self._reply(201, {"faults": added})
        if path == "/tokens":
            client_id = body.get("client_id") or app.conf["apps"]["secret"]["client_id"]
            reg = app.entra.apps.get(client_id)
            if reg is None:
                return self._reply(404, {"error": "unknown client_id"})
            token, lifetime, _ = app.entra.issue(body.get("audience", "https://management.azure.com"), client_id,
                                                 reg["object_id"], lifetime=body.get("lifetime_seconds"))
            return self._reply(200, {"access_token": token, "expires_in": lifetime})
        if path == "/oidc-token":
            return self._reply(200, {"value": app.github_svc.oidc_token(body.get("audience"))})
        if path == "/federated-credentials":
            reg = app.entra.apps.get(body.get("client_id"))
            if reg is None:
                return self._reply(404, {"error": "unknown client_id"})
            cred = {"issuer": body.get("issuer"), "subject": body.get("subject"), "audiences": body.get("audiences") or []}
            reg["federated"].append(cred)
            return self._reply(201, cred)
        self._reply(404, {"error": "no such control route"})

    def do_DELETE(self):
        app = self.server.app
        path = self.path.split("?")[0].rstrip("/")
        if path == "/faults":
            app.faults.reset_rules() if hasattr(app.faults, "reset_rules") else app.faults.reset()
            return self._reply(200, {"ok": True})
        m = re.match(r"^/faults/(\d+)$", path)
        if m:
            ok = app.faults.remove(int(m.group(1)))
            return self._reply(200 if ok else 404, {"ok": ok})
        self._reply(404, {"error": "no such control route"})
