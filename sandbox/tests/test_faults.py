"""Each fault kind, on ARM, Entra and blob routes, and the applied counters."""
import http.client
import time
import urllib.error

from .helpers import ENV, SandboxTest, call, control, ws_url, token


class FaultTests(SandboxTest):
    def add(self, **spec):
        r = control("POST", "/faults", spec)
        return r["faults"][0]["id"]

    def applied(self, rule_id):
        return [f for f in control("GET", "/faults")["faults"] if f["id"] == rule_id][0]["applied"]

    def test_429_with_retry_after_then_recovers(self):
        fid = self.add(kind="status", status=429, retry_after=3, host="management.azure.com", path="/models", count=2)
        for _ in range(2):
            r = call("GET", ws_url("/models"), token=self.tok)
            self.assertEqual(r.status, 429)
            self.assertEqual(r.header("Retry-After"), "3")
            self.assertEqual(r.header("x-ms-ratelimit-remaining-subscription-reads"), "0")
            self.assertEqual(r.json()["error"]["code"], "TooManyRequests")
        self.assertEqual(call("GET", ws_url("/models"), token=self.tok).status, 200)
        self.assertEqual(self.applied(fid), 2)

    def test_5xx_and_skip(self):
        fid = self.add(kind="status", status=503, method="GET", path="/datastores$", skip=1)
        self.assertEqual(call("GET", ws_url("/datastores"), token=self.tok).status, 200)
        self.assertEqual(call("GET", ws_url("/datastores"), token=self.tok).status, 503)
        self.add(kind="status", status=500, host="login.microsoftonline.com")
        r = call("POST", "https://login.microsoftonline.com/%s/oauth2/v2.0/token" % ENV["AZURE_TENANT_ID"], form={"grant_type": "client_credentials"})
        self.assertEqual(r.status, 500)
        self.assertIn("error_codes", r.json())
        self.assertEqual(self.applied(fid), 1)

    def test_dropped_connection(self):
        fid = self.add(kind="drop", path="/models")
        with self.assertRaises((http.client.HTTPException, ConnectionError, urllib.error.URLError, OSError)):
            call("GET", ws_url("/models"), token=self.tok).json()
        self.assertEqual(self.applied(fid), 1)
        self.assertEqual(call("GET", ws_url("/models"), token=self.tok).status, 200)

    def test_delay(self):
        self.add(kind="delay", seconds=1.0, path="/models")
        t = time.time()
        self.assertEqual(call("GET", ws_url("/models"), token=self.tok).status, 200)
        self.assertGreaterEqual(time.time() - t, 1.0)

    def test_expired_token(self):
        self.add(kind="expired_token", path="/models")
        r = call("GET", ws_url("/models"), token=self.tok)
        self.assertEqual((r.status, r.json()["error"]["code"]), (401, "ExpiredAuthenticationToken"))

    def test_lro_failed_on_endpoint(self):
        self.add(kind="lro_failed", method="PUT", path="/onlineEndpoints/")
        r = call("PUT", ws_url("/onlineEndpoints/epf"), body={"location": "eastus", "properties": {"authMode": "Key"}}, token=self.tok)
        url = r.header("Azure-AsyncOperation")
        for _ in range(100):
            body = call("GET", url, token=self.tok).json()
            if body["status"] != "InProgress":
                break
            time.sleep(0.1)
        self.assertEqual(body["status"], "Failed")
        self.assertIn("error", body)

    def test_faults_on_blob_routes(self):
        storage = token("https://storage.azure.com/.default")
        url = "https://mlopssandboxsa.blob.core.windows.net/azureml/f.txt"
        self.add(kind="status", status=503, host="*.blob.core.windows.net", path="/azureml/f.txt", retry_after=2)
        r = call("PUT", url, raw=b"x", token=storage, headers={"x-ms-blob-type": "BlockBlob", "x-ms-version": "2021-12-02"})
        self.assertEqual((r.status, r.header("x-ms-error-code")), (503, "ServerBusy"))
        r = call("PUT", url, raw=b"x", token=storage, headers={"x-ms-blob-type": "BlockBlob", "x-ms-version": "2021-12-02"})
        self.assertEqual(r.status, 201, r.body)
        self.add(kind="drop", host="mlopssandboxsa.blob.core.windows.net", path="/azureml/f.txt", method="GET")
        with self.assertRaises((http.client.HTTPException, ConnectionError, urllib.error.URLError, OSError)):
            call("GET", url, token=storage, headers={"x-ms-version": "2021-12-02"}).body
        log = control("GET", "/faults/log")["applied"]
        self.assertEqual([e["kind"] for e in log], ["status", "drop"])

    def test_unknown_hosts_are_refused(self):
        with self.assertRaises(urllib.error.URLError):
            call("GET", "https://example.com/")
        with self.assertRaises(urllib.error.URLError):
            call("GET", "https://unknownaccount.blob.core.windows.net/c/b")
