"""GitHub Actions services: the OIDC ID token issuer and the results service.

* pipelines.actions.githubusercontent.com: the ID token request endpoint
  (ACTIONS_ID_TOKEN_REQUEST_URL) answering {"count", "value": <jwt>}.
* token.actions.githubusercontent.com: the issuer's discovery document and JWKS.
* results-receiver.actions.githubusercontent.com: the artifact v4 Twirp service.
  Uploads go straight to Azurite through a SAS URL on productionresultssa0.
"""
import hashlib
import json
import re
import threading
import time
import uuid

from . import jwt
from .blob import BlobError
from .httpcore import json_response

TWIRP_PREFIX = "/twirp/github.actions.results.api.v1.ArtifactService/"
TWIRP_STATUS = {"invalid_argument": 400, "malformed": 400, "not_found": 404, "already_exists": 409,
                "permission_denied": 403, "unauthenticated": 401, "internal": 500, "bad_route": 404,
                "resource_exhausted": 429, "unavailable": 503, "failed_precondition": 412}
BAD_NAME_CHARS = set('":<>|*?\r\n\\/')

# protobuf-JSON field names each request accepts (proto name and lowerCamelCase both parse)
FIELDS = {
    "CreateArtifact": {"workflow_run_backend_id", "workflow_job_run_backend_id", "name", "expires_at", "version", "mime_type"},
    "FinalizeArtifact": {"workflow_run_backend_id", "workflow_job_run_backend_id", "name", "size", "hash"},
    "ListArtifacts": {"workflow_run_backend_id", "workflow_job_run_backend_id", "name_filter", "id_filter"},
    "GetSignedArtifactURL": {"workflow_run_backend_id", "workflow_job_run_backend_id", "name"},
    "DeleteArtifact": {"workflow_run_backend_id", "workflow_job_run_backend_id", "name"},
}


def twirp_error(code, msg):
    return json_response(TWIRP_STATUS.get(code, 500), {"code": code, "msg": msg})


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _rfc3339(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % int((ts % 1) * 1000)


class GitHub:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.artifacts = {}      # run backend id -> name -> record
        self.next_id = 1000

    def reset(self):
        with self.lock:
            self.artifacts = {}

    def dump(self):
        with self.lock:
            return {run: {n: {k: v for k, v in a.items() if k != "blob"} | {"blob": a["blob"]} for n, a in arts.items()}
                    for run, arts in self.artifacts.items()}

    # -- tokens ----------------------------------------------------------------

    def runtime_token(self, run_id, job_id, lifetime=6 * 3600):
        now = jwt.now()
        claims = {"Ac": '[{"Scope":"refs/heads/main","Permission":3}]', "ac": "", "billing_owner_id": "U_sandbox",
                  "exp": now + lifetime, "iat": now, "nbf": now, "iss": "https://token.actions.githubusercontent.com",
                  "aud": "vso:%s" % job_id, "orchid": "%s.build.__default" % run_id,
                  "scp": "Actions.ExampleScope Actions.Results:%s:%s" % (run_id, job_id), "sub": "sandbox"}
        return jwt.encode(claims, self.app.oidc_key, kid=self.app.oidc_kid)

    def id_token_request_token(self, lifetime=6 * 3600):
        now = jwt.now()
        claims = {"iss": "https://pipelines.actions.githubusercontent.com", "aud": "vso:sandbox", "nbf": now,
                  "iat": now, "exp": now + lifetime, "scp": "Actions.GenerateIdToken:%s" % self.app.github["run_id"]}
        return jwt.encode(claims, self.app.oidc_key, kid=self.app.oidc_kid)

    def oidc_token(self, audience):
        gh = self.app.github
        now = jwt.now()
        lifetime = int(self.app.settings["oidc_token_lifetime_seconds"])
        owner, repo = gh["repository"].split("/", 1)
        claims = {
            "jti": str(uuid.uuid4()), "sub": self.app.settings["oidc_subject"],
            "aud": audience or "https://github.com/%s" % owner,
            "ref": gh["ref"], "sha": gh["sha"], "repository": gh["repository"], "repository_owner": owner,
            "repository_owner_id": "100001", "repository_id": "200002", "repository_visibility": "private",
            "run_id": gh["run_id"], "run_number": "7", "run_attempt": gh["run_attempt"],
            "actor": "sandbox-user", "actor_id": "300003", "workflow": "mlops", "event_name": "push",
            "ref_type": "branch", "ref_protected": "false", "head_ref": "", "base_ref": "",
            "workflow_ref": "%s/.github/workflows/mlops.yml@%s" % (gh["repository"], gh["ref"]),
            "workflow_sha": gh["sha"],
            "job_workflow_ref": "%s/.github/workflows/mlops.yml@%s" % (gh["repository"], gh["ref"]),
            "job_workflow_sha": gh["sha"], "runner_environment": "github-hosted",
            "iss": self.app.oidc_issuer, "nbf": now - 5, "exp": now + lifetime, "iat": now,
        }
        return jwt.encode(claims, self.app.oidc_key, kid=self.app.oidc_kid, extra_header={"x5t": self.app.oidc_kid})

    def _bearer_claims(self, req):
        token = req.bearer()
        if not token:
            return None
        try:
            _, claims = jwt.verify_signature(token, self.app.oidc_key)
        except jwt.JwtError:
            return None
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= jwt.now():
            return None
        return claims

    # -- HTTP --------------------------------------------------------------------

    def handle(self, req):
        if req.host == "token.actions.githubusercontent.com":
            return self._issuer(req)
        if req.host == "results-receiver.actions.githubusercontent.com":
            return self._results(req)
        return self._id_token(req)

    def _issuer(self, req):
        iss = self.app.oidc_issuer
        if req.path == "/.well-known/openid-configuration":
            return json_response(200, {"issuer": iss, "jwks_uri": iss + "/.well-known/jwks",
                                       "subject_types_supported": ["public", "pairwise"],
                                       "response_types_supported": ["id_token"],
                                       "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "run_id"],
                                       "id_token_signing_alg_values_supported": ["RS256"],
                                       "scopes_supported": ["openid"]})
        if req.path == "/.well-known/jwks":
            return json_response(200, {"keys": [self.app.oidc_key.jwk(self.app.oidc_kid)]})
        return json_response(404, {"message": "Not Found"})

    def _id_token(self, req):
        if req.method != "GET" or not req.path.endswith("/idtoken"):
            return json_response(404, {"message": "Not Found"})
        claims = self._bearer_claims(req)
        if claims is None or not str(claims.get("scp", "")).startswith("Actions.GenerateIdToken"):
            return json_response(401, {"message": "Unauthorized: the bearer token is missing, invalid or expired.",
                                       "typeKey": "UnauthorizedRequestException"})
        if req.q("api-version") is None:
            return json_response(400, {"message": "The api-version query parameter is required.",
                                       "typeKey": "ApiVersionNotSpecifiedException"})
        token = self.oidc_token(req.q("audience"))
        return json_response(200, {"count": len(token), "value": token})

    def _results(self, req):
        if not req.path.startswith(TWIRP_PREFIX) or req.method != "POST":
            return twirp_error("bad_route", "no handler for path %s" % req.path)
        method = req.path[len(TWIRP_PREFIX):]
        if method not in FIELDS:
            return twirp_error("bad_route", "no handler for path %s" % req.path)
        ctype = (req.header("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return twirp_error("bad_route", "unexpected Content-Type: %r" % ctype)
        claims = self._bearer_claims(req)
        if claims is None:
            return twirp_error("unauthenticated", "invalid or expired runtime token")
        scopes = [s.split(":") for s in str(claims.get("scp", "")).split() if s.startswith("Actions.Results:")]
        if not scopes or len(scopes[0]) != 3:
            return twirp_error("permission_denied", "the token has no Actions.Results scope")
        try:
            raw = req.json()
            if not isinstance(raw, dict):
                raise ValueError("not an object")
        except ValueError:
            return twirp_error("malformed", "the json request could not be decoded")
        body = {}
        known = {f: f for f in FIELDS[method]} | {_camel(f): f for f in FIELDS[method]}
        for k, v in raw.items():
            if k not in known:
                return twirp_error("malformed", "the json request could not be decoded: unknown field %r" % k)
            body[known[k]] = v
        run_id, job_id = body.get("workflow_run_backend_id"), body.get("workflow_job_run_backend_id")
        if not run_id or not job_id:
            return twirp_error("invalid_argument", "workflow_run_backend_id and workflow_job_run_backend_id are required")
        if [run_id, job_id] != scopes[0][1:]:
            return twirp_error("permission_denied", "the backend ids do not match the runtime token")
        return getattr(self, "_" + method)(run_id, job_id, body)

    def _blob_name(self, run_id, job_id, name):
        return "%s/workflow-job-run-%s/artifacts/%s.zip" % (run_id, job_id, hashlib.sha256(name.encode()).hexdigest())

    def _signed(self, blob, permissions, seconds=6 * 3600):
        acct = self.app.results_account
        return "%s?%s" % (self.app.blob.url(acct, self.app.results_container, blob),
                          self.app.blob.sas(acct, self.app.results_container, blob, permissions, seconds))

    def _CreateArtifact(self, run_id, job_id, body):
        name = body.get("name")
        if not isinstance(name, str) or not name or any(c in BAD_NAME_CHARS for c in name):
            return twirp_error("invalid_argument", "artifact name %r is invalid" % name)
        try:
            version = int(body.get("version", 0))
        except (TypeError, ValueError):
            return twirp_error("malformed", "the json request could not be decoded: version")
        mime = body.get("mime_type")
        if version not in (4, 7):
            return twirp_error("invalid_argument", "unsupported artifact version %d" % version)
        if version == 7 and mime not in ("application/zip", "application/octet-stream", "text/plain") and not (
                isinstance(mime, str) and re.match(r"^[\w.+-]+/[\w.+-]+$", mime)):
            return twirp_error("invalid_argument", "version 7 requires a valid mime_type")
        expires = body.get("expires_at")
        if expires is not None and not (isinstance(expires, str) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", expires)):
            return twirp_error("malformed", "the json request could not be decoded: expires_at")
        with self.lock:
            arts = self.artifacts.setdefault(run_id, {})
            existing = arts.get(name)
            if existing and existing["finalized"]:
                return twirp_error("already_exists", "an artifact with this name already exists on the workflow run")
            blob = self._blob_name(run_id, job_id, name)
            arts[name] = {"name": name, "job": job_id, "blob": blob, "finalized": False, "version": version,
                          "mime_type": mime, "expires_at": expires, "created_at": time.time(), "size": 0, "digest": None,
                          "id": existing["id"] if existing else self._new_id()}
        return json_response(200, {"ok": True, "signed_upload_url": self._signed(blob, "cw")})

    def _new_id(self):
        self.next_id += 1
        return self.next_id

    def _FinalizeArtifact(self, run_id, job_id, body):
        name = body.get("name")
        with self.lock:
            art = self.artifacts.get(run_id, {}).get(name)
        if art is None:
            return twirp_error("not_found", "artifact %r not found: CreateArtifact first" % name)
        try:
            size = int(body.get("size"))
        except (TypeError, ValueError):
            return twirp_error("invalid_argument", "size is required (int64)")
        digest = body.get("hash")
        if digest is not None and not (isinstance(digest, str) and re.match(r"^sha256:[0-9a-f]{64}$", digest)):
            return twirp_error("invalid_argument", "hash must be sha256:<64 lowercase hex digits>")
        try:
            actual_size, actual_sha = self.app.blob.download_to(self.app.results_account, self.app.results_container,
                                                               art["blob"], None)
        except BlobError as exc:
            if exc.status == 404:
                return twirp_error("not_found", "no committed upload for artifact %r" % name)
            return twirp_error("internal", "storage error")
        if actual_size != size:
            return twirp_error("invalid_argument", "artifact size mismatch: finalize says %d, uploaded %d" % (size, actual_size))
        if digest is not None and digest != "sha256:" + actual_sha:
            return twirp_error("invalid_argument", "artifact hash mismatch: finalize says %s, uploaded sha256:%s" % (digest, actual_sha))
        with self.lock:
            art.update(finalized=True, size=size, digest="sha256:" + actual_sha)
        return json_response(200, {"ok": True, "artifact_id": str(art["id"])})

    def _visible(self, run_id):
        with self.lock:
            return [a for a in self.artifacts.get(run_id, {}).values() if a["finalized"]]

    def _ListArtifacts(self, run_id, job_id, body):
        arts = self._visible(run_id)
        if body.get("name_filter") is not None:
            arts = [a for a in arts if a["name"] == body["name_filter"]]
        if body.get("id_filter") is not None:
            try:
                wanted = int(body["id_filter"])
            except (TypeError, ValueError):
                return twirp_error("malformed", "the json request could not be decoded: id_filter")
            arts = [a for a in arts if a["id"] == wanted]
        return json_response(200, {"artifacts": [{
            "workflow_run_backend_id": run_id, "workflow_job_run_backend_id": a["job"],
            "database_id": str(a["id"]), "name": a["name"], "size": str(a["size"]),
            "created_at": _rfc3339(a["created_at"]), "digest": a["digest"]} for a in arts]})

    def _GetSignedArtifactURL(self, run_id, job_id, body):
        for a in self._visible(run_id):
            if a["name"] == body.get("name"):
                return json_response(200, {"signed_url": self._signed(a["blob"], "r", 3600)})
        return twirp_error("not_found", "artifact %r not found" % body.get("name"))

    def _DeleteArtifact(self, run_id, job_id, body):
        with self.lock:
            art = self.artifacts.get(run_id, {}).get(body.get("name"))
            if art is None or not art["finalized"]:
                return twirp_error("not_found", "artifact %r not found" % body.get("name"))
            del self.artifacts[run_id][art["name"]]
        try:
            self.app.blob.request("DELETE", self.app.results_account, self.app.results_container, art["blob"])
        except BlobError:
            pass
        return json_response(200, {"ok": True, "artifact_id": str(art["id"])})
