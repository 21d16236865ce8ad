"""Token validation: the three Entra flows, their AADSTS errors, expiry, managed identity, GitHub OIDC."""
import hashlib
import json
import os
import time
import urllib.request
import uuid

from azsandbox import jwt, pki

from .helpers import ENV, SandboxTest, call, control, ws_url

TENANT = ENV.get("AZURE_TENANT_ID", "")
TOKEN_URL = "https://login.microsoftonline.com/%s/oauth2/v2.0/token" % TENANT
SCOPE = "https://management.azure.com/.default"


def assertion(alg="RS256", aud=None, exp_delta=300, nbf_delta=0, client_id=None, key_path=None, cert_path=None):
    client_id = client_id or ENV["SANDBOX_CERT_CLIENT_ID"]
    key = pki.RsaPrivateKey.from_pem_file(key_path or ENV["SANDBOX_CERT_KEY_PATH"])
    with open(cert_path or ENV["SANDBOX_CERT_PATH"]) as f:
        x5t, x5t256 = pki.thumbprints(f.read())
    now = int(time.time())
    claims = {"aud": aud or TOKEN_URL, "iss": client_id, "sub": client_id, "jti": str(uuid.uuid4()),
              "nbf": now + nbf_delta, "iat": now + nbf_delta, "exp": now + exp_delta}
    header = {"typ": "JWT", "alg": alg}
    header.update({"x5t": x5t} if alg == "RS256" else {"x5t#S256": x5t256})
    signing_input = pki.b64url(json.dumps(header).encode()) + "." + pki.b64url(json.dumps(claims).encode())
    if alg == "RS256":
        sig = key.sign_rs256(signing_input.encode())
    else:   # PSS through the openssl CLI, as a real client library would make it
        import subprocess
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_path or ENV["SANDBOX_CERT_KEY_PATH"], "-sigopt",
                              "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"], input=signing_input.encode(),
                             capture_output=True, check=True).stdout
    return signing_input + "." + pki.b64url(sig)


def form(**kw):
    base = {"grant_type": "client_credentials", "scope": SCOPE}
    base.update(kw)
    return base


class EntraTests(SandboxTest):
    def post(self, f, url=TOKEN_URL):
        return call("POST", url, form=f)

    def assertAadsts(self, resp, code, status=None):
        body = resp.json()
        self.assertIn(code, body["error_codes"], body)
        self.assertTrue(body["error_description"].startswith("AADSTS%d:" % code))
        for field in ("error", "trace_id", "correlation_id", "timestamp"):
            self.assertIn(field, body)
        if status:
            self.assertEqual(resp.status, status)

    def test_client_secret_token_works_against_arm(self):
        r = self.post(form(client_id=ENV["AZURE_CLIENT_ID"], client_secret=ENV["AZURE_CLIENT_SECRET"]))
        self.assertEqual(r.status, 200)
        body = r.json()
        self.assertEqual(body["token_type"], "Bearer")
        self.assertIsInstance(body["expires_in"], int)
        _, claims, _, _ = jwt.decode_unverified(body["access_token"])
        self.assertEqual(claims["aud"], "https://management.azure.com")
        self.assertEqual(claims["tid"], TENANT)
        self.assertEqual(call("GET", ws_url(), token=body["access_token"]).status, 200)

    def test_v1_endpoint_with_resource(self):
        r = self.post({"grant_type": "client_credentials", "client_id": ENV["AZURE_CLIENT_ID"],
                       "client_secret": ENV["AZURE_CLIENT_SECRET"], "resource": "https://management.azure.com/"},
                      url="https://login.microsoftonline.com/%s/oauth2/token" % TENANT)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["resource"], "https://management.azure.com/")

    def test_bad_secret_unknown_app_unknown_tenant(self):
        self.assertAadsts(self.post(form(client_id=ENV["AZURE_CLIENT_ID"], client_secret="nope")), 7000215, 401)
        self.assertAadsts(self.post(form(client_id=str(uuid.uuid4()), client_secret="x")), 700016, 400)
        self.assertAadsts(self.post(form(client_id=ENV["AZURE_CLIENT_ID"], client_secret="x"),
                                    url="https://login.microsoftonline.com/%s/oauth2/v2.0/token" % uuid.uuid4()), 90002, 400)

    def test_certificate_assertion_rs256_and_ps256(self):
        for alg in ("RS256", "PS256"):
            r = self.post(form(client_id=ENV["SANDBOX_CERT_CLIENT_ID"], client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                               client_assertion=assertion(alg)))
            self.assertEqual(r.status, 200, r.body)

    def test_certificate_assertion_errors(self):
        base = dict(client_id=ENV["SANDBOX_CERT_CLIENT_ID"], client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        expired = assertion(exp_delta=-10, nbf_delta=-600)
        self.assertAadsts(self.post(form(client_assertion=expired, **base)), 700024)
        good = assertion()
        tampered = good.rsplit(".", 1)[0] + "." + pki.b64url(b"\x00" * 256)
        self.assertAadsts(self.post(form(client_assertion=tampered, **base)), 700027)
        # a certificate that is not registered on the app
        d = os.path.join(ENV["SANDBOX_DIR"], "pki")
        cert, key, _ = pki.make_self_signed(d, "unregistered", "/CN=other")
        self.assertAadsts(self.post(form(client_assertion=assertion(key_path=key, cert_path=cert), **base)), 700027)

    def test_federated_github_token(self):
        oidc = call("GET", ENV["ACTIONS_ID_TOKEN_REQUEST_URL"] + "&audience=api://AzureADTokenExchange",
                    token=ENV["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
        self.assertEqual(oidc.status, 200)
        value = oidc.json()["value"]
        _, claims, _, _ = jwt.decode_unverified(value)
        self.assertEqual(claims["iss"], "https://token.actions.githubusercontent.com")
        self.assertEqual(claims["sub"], ENV["SANDBOX_OIDC_SUBJECT"])
        base = dict(client_id=ENV["SANDBOX_OIDC_CLIENT_ID"], client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        self.assertEqual(self.post(form(client_assertion=value, **base)).status, 200)
        # a subject no federated credential matches
        control("POST", "/config", {"oidc_subject": "repo:someone/else:ref:refs/heads/main"})
        other = control("POST", "/oidc-token", {"audience": "api://AzureADTokenExchange"})["value"]
        self.assertAadsts(self.post(form(client_assertion=other, **base)), 70021)
        # a wrong audience
        control("POST", "/config", {"oidc_subject": ENV["SANDBOX_OIDC_SUBJECT"]})
        wrong = control("POST", "/oidc-token", {"audience": "api://Other"})["value"]
        self.assertAadsts(self.post(form(client_assertion=wrong, **base)), 70021)
        # an expired GitHub token
        control("POST", "/config", {"oidc_token_lifetime_seconds": 1})
        short = control("POST", "/oidc-token", {"audience": "api://AzureADTokenExchange"})["value"]
        time.sleep(2.1)
        self.assertAadsts(self.post(form(client_assertion=short, **base)), 700024)

    def test_id_token_endpoint_needs_its_bearer(self):
        self.assertEqual(call("GET", ENV["ACTIONS_ID_TOKEN_REQUEST_URL"] + "&audience=x", token="bad").status, 401)

    def test_access_tokens_expire(self):
        control("POST", "/config", {"token_lifetime_seconds": 1})
        r = self.post(form(client_id=ENV["AZURE_CLIENT_ID"], client_secret=ENV["AZURE_CLIENT_SECRET"]))
        tok = r.json()["access_token"]
        self.assertEqual(r.json()["expires_in"], 1)
        time.sleep(2.1)
        resp = call("GET", ws_url(), token=tok)
        self.assertEqual(resp.status, 401)
        self.assertEqual(resp.json()["error"]["code"], "ExpiredAuthenticationToken")
        self.assertIn("Bearer", resp.header("WWW-Authenticate"))

    def test_arm_rejects_missing_and_foreign_tokens(self):
        self.assertEqual(call("GET", ws_url()).json()["error"]["code"], "AuthenticationFailed")
        storage = self.post(form(client_id=ENV["AZURE_CLIENT_ID"], client_secret=ENV["AZURE_CLIENT_SECRET"],
                                 scope="https://storage.azure.com/.default")).json()["access_token"]
        self.assertEqual(call("GET", ws_url(), token=storage).json()["error"]["code"], "InvalidAuthenticationTokenAudience")

    def test_managed_identity_both_shapes(self):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        url = ENV["IDENTITY_ENDPOINT"] + "?resource=https://management.azure.com&api-version=2019-08-01"
        req = urllib.request.Request(url, headers={"X-IDENTITY-HEADER": ENV["IDENTITY_HEADER"]})
        body = json.loads(opener.open(req).read())
        self.assertEqual(call("GET", ws_url(), token=body["access_token"]).status, 200)
        req = urllib.request.Request(ENV["SANDBOX_IMDS_ENDPOINT"] + "?resource=https://storage.azure.com&api-version=2018-02-01",
                                     headers={"Metadata": "true"})
        self.assertIn("access_token", json.loads(opener.open(req).read()))
        with self.assertRaises(urllib.error.HTTPError):
            opener.open(urllib.request.Request(url, headers={"X-IDENTITY-HEADER": "wrong"}))
