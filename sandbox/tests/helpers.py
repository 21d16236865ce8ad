"""Test helpers: an HTTPS client that reaches the sandbox the way the product
does (through HTTPS_PROXY, trusting SSL_CERT_FILE), plus control-API calls."""
import json
import os
import ssl
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

ENV = os.environ


def _opener(proxy=True):
    ctx = ssl.create_default_context(cafile=ENV["SSL_CERT_FILE"])
    handlers = [urllib.request.HTTPSHandler(context=ctx)]
    handlers.append(urllib.request.ProxyHandler({"https": ENV["HTTPS_PROXY"]} if proxy else {}))
    return urllib.request.build_opener(*handlers)


OPENER = None


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body) if self.body else None

    def header(self, name):
        return self.headers.get(name)


def call(method, url, body=None, headers=None, token=None, form=None, raw=None, timeout=30):
    global OPENER
    if OPENER is None:
        OPENER = _opener()
    hdrs = dict(headers or {})
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif raw is not None:
        data = raw
    elif body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if token:
        hdrs["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with OPENER.open(req, timeout=timeout) as r:
            return Resp(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Resp(e.code, e.headers, e.read())


def control(method, path, body=None):
    req = urllib.request.Request(ENV["SANDBOX_CONTROL_URL"] + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=60) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": json.loads(e.read() or b"null")}


def token(scope="https://management.azure.com/.default"):
    r = call("POST", "https://login.microsoftonline.com/%s/oauth2/v2.0/token" % ENV["AZURE_TENANT_ID"], form={
        "grant_type": "client_credentials", "client_id": ENV["AZURE_CLIENT_ID"],
        "client_secret": ENV["AZURE_CLIENT_SECRET"], "scope": scope})
    assert r.status == 200, r.body
    return r.json()["access_token"]


SUB = ENV.get("AZURE_SUBSCRIPTION_ID", "")
RG = ENV.get("AZURE_RESOURCE_GROUP", "")
WS = ENV.get("AZURE_ML_WORKSPACE", "")
API = "2025-12-01"


def ws_url(suffix="", api=API):
    base = "https://management.azure.com/subscriptions/%s/resourceGroups/%s/providers/Microsoft.MachineLearningServices/workspaces/%s" % (SUB, RG, WS)
    sep = "&" if "?" in suffix else "?"
    return base + suffix + sep + "api-version=" + api


def rg_url(suffix, api="2025-04-01"):
    sep = "&" if "?" in suffix else "?"
    return "https://management.azure.com/subscriptions/%s/resourcegroups/%s%s%sapi-version=%s" % (SUB, RG, suffix, sep, api)


def wait_for(predicate, timeout=20, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met within %ss" % timeout)


class SandboxTest(unittest.TestCase):
    """Resets the sandbox before each test and makes LROs fast."""
    def setUp(self):
        control("POST", "/reset")
        control("POST", "/config", {"lro_step_seconds": 0.2, "retry_after_seconds": 1, "job_step_seconds": 0.05})
        self.tok = token()
