"""Microsoft Entra ID: the token endpoint (v2.0 and v1), as login.microsoftonline.com.

Three client-credential flows: client secret, certificate client assertion
(RS256 + x5t or PS256 + x5t#S256, signature checked against the registered
certificate) and federated assertion (a GitHub OIDC token from this sandbox,
matched against the app's federated credentials). Access tokens are RS256
JWTs in the v1 shape ARM and Storage receive (iss https://sts.windows.net/...).
"""
import hmac
import time
import uuid
from urllib.parse import parse_qs

from . import jwt
from .httpcore import json_response, new_guid

LOGIN_HOST = "login.microsoftonline.com"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# resource identifier -> the audience written in tokens for it
KNOWN_RESOURCES = {
    "https://management.azure.com": "https://management.azure.com",
    "https://management.core.windows.net": "https://management.core.windows.net",
    "https://storage.azure.com": "https://storage.azure.com",
    "https://ml.azure.com": "https://ml.azure.com",
    "https://vault.azure.net": "https://vault.azure.net",
    "https://graph.microsoft.com": "https://graph.microsoft.com",
}
ARM_AUDIENCES = {"https://management.azure.com", "https://management.azure.com/",
                 "https://management.core.windows.net", "https://management.core.windows.net/"}
STORAGE_AUDIENCES = {"https://storage.azure.com", "https://storage.azure.com/"}


def entra_error(status, error, code, description, tenant=None):
    now = time.gmtime()
    trace, corr = new_guid(), new_guid()
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", now)
    return json_response(status, {
        "error": error,
        "error_description": "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s" % (
            code, description, trace, corr, stamp),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": "https://login.microsoftonline.com/error?code=%d" % code,
    }, headers=[("x-ms-request-id", trace), ("Cache-Control", "no-store, no-cache")])


class Entra:
    def __init__(self, app):
        self.app = app          # the server App: settings, signing key, tenant
        self.apps = {}          # client_id -> registration

    # -- registrations -----------------------------------------------------

    def register(self, client_id, secrets=(), certificates=(), federated=(), display_name=None):
        from .pki import RsaPublicKey, thumbprints
        certs = []
        for pem in certificates:
            x5t, x5t256 = thumbprints(pem)
            certs.append({"x5t": x5t, "x5t#S256": x5t256, "key": RsaPublicKey.from_certificate_pem(pem)})
        self.apps[client_id] = {
            "client_id": client_id,
            "display_name": display_name or client_id,
            "object_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "sp:" + client_id)),
            "secrets": list(secrets),
            "certificates": certs,
            "federated": [dict(f) for f in federated],
        }

    def dump(self):
        return {cid: {"display_name": a["display_name"], "object_id": a["object_id"],
                      "secrets": len(a["secrets"]), "certificates": [c["x5t"] for c in a["certificates"]],
                      "federated": a["federated"]} for cid, a in self.apps.items()}

    def tenant_matches(self, tenant):
        t = tenant.lower()
        return t == self.app.tenant_id or t in self.app.tenant_domains

    # -- tokens --------------------------------------------------------------

    def issue(self, audience, appid, oid, appidacr="1", lifetime=None, extra=None):
        lifetime = int(self.app.settings["token_lifetime_seconds"] if lifetime is None else lifetime)
        now = jwt.now()
        claims = {
            "aud": audience,
            "iss": "https://sts.windows.net/%s/" % self.app.tenant_id,
            "iat": now, "nbf": now, "exp": now + lifetime,
            "aio": uuid.uuid4().hex, "appid": appid, "appidacr": appidacr,
            "idp": "https://sts.windows.net/%s/" % self.app.tenant_id,
            "idtyp": "app", "oid": oid, "rh": "0.sandbox.", "sub": oid,
            "tid": self.app.tenant_id, "uti": uuid.uuid4().hex[:22], "ver": "1.0",
        }
        claims.update(extra or {})
        return jwt.encode(claims, self.app.signing_key, kid=self.app.signing_kid,
                          extra_header={"x5t": self.app.signing_kid}), lifetime, now

    def validate_access_token(self, token, audiences):
        """(claims, None) when the token is ours, unexpired and for one of audiences;
        otherwise (claims_or_None, reason) with reason 'invalid', 'expired' or 'audience'."""
        try:
            _, claims = jwt.verify_signature(token, self.app.signing_key)
        except jwt.JwtError:
            return None, "invalid"
        if claims.get("tid") != self.app.tenant_id:
            return claims, "invalid"
        now = jwt.now()
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
            return claims, "expired"
        if isinstance(claims.get("nbf"), int) and claims["nbf"] > now + 300:
            return claims, "invalid"
        if claims.get("aud") not in audiences:
            return claims, "audience"
        return claims, None

    # -- HTTP ------------------------------------------------------------------

    def handle(self, req):
        parts = [p for p in req.path.split("/") if p]
        if len(parts) >= 3 and parts[1] == "oauth2" and parts[-1] == "token" and req.method == "POST":
            version = "v2.0" if parts[2] == "v2.0" else "v1"
            return self.token(req, parts[0], version)
        if len(parts) >= 2 and parts[-2:] == [".well-known", "openid-configuration"] and req.method == "GET":
            tenant = parts[0]
            base = "https://login.microsoftonline.com/%s" % tenant
            return json_response(200, {"token_endpoint": base + "/oauth2/v2.0/token",
                                       "issuer": base + "/v2.0", "jwks_uri": base + "/discovery/v2.0/keys",
                                       "authorization_endpoint": base + "/oauth2/v2.0/authorize",
                                       "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"]})
        if parts[-2:] == ["discovery", "instance"] or parts[-3:] == ["common", "discovery", "instance"]:
            return json_response(200, {"tenant_discovery_endpoint": "https://login.microsoftonline.com/%s/v2.0/.well-known/openid-configuration" % self.app.tenant_id,
                                       "api-version": "1.1", "metadata": [{"preferred_network": LOGIN_HOST, "preferred_cache": LOGIN_HOST, "aliases": [LOGIN_HOST]}]})
        return entra_error(404, "invalid_request", 900561, "The endpoint only accepts POST requests.")

    def token(self, req, tenant, version):
        if not self.tenant_matches(tenant):
            return entra_error(400, "invalid_request", 90002,
                               "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. "
                               "Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant." % tenant)
        ctype = (req.header("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return entra_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        grant = form.get("grant_type")
        if not grant:
            return entra_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
        if grant != "client_credentials":
            return entra_error(400, "unsupported_grant_type", 70003,
                               "The app requested an unsupported grant type '%s'." % grant)
        client_id = form.get("client_id")
        if not client_id:
            return entra_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
        if version == "v2.0":
            scopes = [s for s in (form.get("scope") or "").split() if s not in ("openid", "profile", "offline_access")]
            if not scopes:
                return entra_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
            scope = scopes[0]
            if not scope.endswith("/.default"):
                return entra_error(400, "invalid_scope", 1002012,
                                   "The provided value for scope %s is not valid. Client credential flows must have a scope value "
                                   "with /.default suffixed to the resource identifier (application ID URI)." % scope)
            resource = scope[: -len("/.default")]
        else:
            resource = form.get("resource")
            if not resource:
                return entra_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'resource'.")
        audience = KNOWN_RESOURCES.get(resource.rstrip("/"))
        if audience is None:
            return entra_error(400, "invalid_resource", 500011,
                               "The resource principal named %s was not found in the tenant named %s. This can happen if the application "
                               "has not been installed by the administrator of the tenant or consented to by any user in the tenant. "
                               "You might have sent your authentication request to the wrong tenant." % (resource, self.app.tenant_id))
        if version == "v1":
            audience = resource     # v1 echoes the resource as asked, slash included
        registration = self.apps.get(client_id)
        if registration is None:
            return entra_error(400, "unauthorized_client", 700016,
                               "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application "
                               "has not been installed by the administrator of the tenant or consented to by any user in the tenant. "
                               "You may have sent your authentication request to the wrong tenant." % (client_id, self.app.tenant_id))
        if "client_secret" in form:
            if not any(hmac.compare_digest(form["client_secret"], s) for s in registration["secrets"]):
                return entra_error(401, "invalid_client", 7000215,
                                   "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "
                                   "not the client secret ID, for a secret added to app '%s'." % client_id)
            appidacr = "1"
        elif "client_assertion" in form:
            if form.get("client_assertion_type") != JWT_BEARER:
                return entra_error(400, "invalid_request", 50027,
                                   "The client_assertion_type must be '%s'." % JWT_BEARER)
            failure = self._check_assertion(registration, form["client_assertion"], tenant)
            if failure is not None:
                return failure
            appidacr = "2"
        else:
            return entra_error(401, "invalid_client", 7000216,
                               "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
        token, lifetime, now = self.issue(audience, client_id, registration["object_id"], appidacr)
        body = {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}
        if version == "v1":
            body.update({"expires_on": str(now + lifetime), "not_before": str(now), "resource": resource})
            body = {k: str(v) if k in ("expires_in", "ext_expires_in") else v for k, v in body.items()}
        return json_response(200, body, headers=[("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache"),
                                                 ("x-ms-request-id", new_guid())])

    def _check_assertion(self, registration, assertion, tenant):
        client_id = registration["client_id"]
        try:
            header, claims, _, _ = jwt.decode_unverified(assertion)
        except jwt.JwtError as exc:
            return entra_error(400, "invalid_request", 50027, "JWT token is invalid or malformed. %s" % exc)
        if claims.get("iss") == self.app.oidc_issuer:
            return self._check_federated(registration, assertion, claims)
        # A certificate client assertion.
        cert = None
        # A thumbprint is base64url, with or without its '=' padding (MSAL Python pads it).
        x5t256, x5t = (str(header.get(k) or "").rstrip("=") for k in ("x5t#S256", "x5t"))
        for c in registration["certificates"]:
            if x5t256 and x5t256 == c["x5t#S256"].rstrip("="):
                cert = c
            elif x5t and x5t == c["x5t"].rstrip("="):
                cert = c
        if cert is None:
            return entra_error(401, "invalid_client", 700027,
                               "Client assertion failed signature validation. The certificate with identifier used to sign the "
                               "client assertion is not registered on application. [Reason - The key was not found., "
                               "Thumbprint of key used by client: '%s']" % (header.get("x5t#S256") or header.get("x5t") or ""))
        try:
            jwt.verify_signature(assertion, cert["key"])
        except jwt.JwtError:
            return entra_error(401, "invalid_client", 700027, "Client assertion failed signature validation.")
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            return entra_error(401, "invalid_client", 700021,
                               "Client assertion application identifier doesn't match 'client_id' parameter.")
        valid_auds = {"https://login.microsoftonline.com/%s/oauth2/v2.0/token" % t for t in (tenant, self.app.tenant_id)}
        valid_auds |= {"https://login.microsoftonline.com/%s/oauth2/token" % t for t in (tenant, self.app.tenant_id)}
        valid_auds |= {"https://login.microsoftonline.com/%s/v2.0" % self.app.tenant_id}
        if claims.get("aud") not in valid_auds:
            return entra_error(401, "invalid_client", 50013,
                               "Assertion failed signature validation. [Reason - The audience claim '%s' is not valid.]" % claims.get("aud"))
        return self._check_window(claims)

    def _check_window(self, claims):
        now = jwt.now()
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
        if not isinstance(exp, (int, float)) or exp <= now or (isinstance(nbf, (int, float)) and nbf > now + 60):
            return entra_error(400, "invalid_client", 700024,
                               "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, "
                               "expiry time of assertion %s. Review the documentation at "
                               "https://learn.microsoft.com/entra/identity-platform/certificate-credentials ." % (
                                   _fmt(now), _fmt(nbf), _fmt(exp)))
        return None

    def _check_federated(self, registration, assertion, claims):
        try:
            jwt.verify_signature(assertion, self.app.oidc_key)
        except jwt.JwtError:
            return entra_error(401, "invalid_client", 700027, "Client assertion failed signature validation.")
        window = self._check_window(claims)
        if window is not None:
            return window
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        for cred in registration["federated"]:
            if (cred.get("issuer") == claims.get("iss") and cred.get("subject") == claims.get("sub")
                    and any(a in cred.get("audiences", []) for a in auds)):
                return None
        return entra_error(400, "invalid_client", 70021,
                           "No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. "
                           "Assertion Subject: '%s'. Assertion Audience: '%s'. "
                           "https://learn.microsoft.com/entra/workload-id/workload-identity-federation" % (
                               claims.get("iss"), claims.get("sub"), ",".join(str(a) for a in auds)))


def _fmt(ts):
    if not isinstance(ts, (int, float)):
        return "(missing)"
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(ts))
