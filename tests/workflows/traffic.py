"""Live traffic for a Model-CD test: a client of the endpoint, as callers
of a real one are, that scores a request every INTERVAL seconds through the
sandbox's proxy with the endpoint's key (read by ARM listKeys, as a caller
would), routed by the endpoint's traffic map. Runs until killed; each
answer's deployment and status are appended to OUT, one line each, so a
test can tell which deployments served.

    python3 traffic.py ENDPOINT REQUEST.json OUT [INTERVAL]
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sandbox"))
from tests.helpers import call, token, ws_url  # noqa: E402


def key_and_uri(endpoint):
    while True:
        tok = token()
        r = call("POST", ws_url("/onlineEndpoints/%s/listKeys" % endpoint), token=tok)
        e = call("GET", ws_url("/onlineEndpoints/%s" % endpoint), token=tok)
        if r.status == 200 and e.status == 200 and e.json()["properties"].get("scoringUri"):
            return r.json()["primaryKey"], e.json()["properties"]["scoringUri"]
        time.sleep(0.5)


def main(endpoint, request, out, interval=0.1):
    with open(request, "rb") as f:
        body = f.read()
    key, uri = key_and_uri(endpoint)
    while True:
        try:
            r = call("POST", uri, raw=body, headers={"Content-Type": "application/json",
                                                      "Authorization": "Bearer " + key}, timeout=10)
            line = "%s %d\n" % (r.header("azureml-model-deployment") or "-", r.status)
        except OSError as e:
            line = "- error %s\n" % type(e).__name__
        with open(out, "a") as f:
            f.write(line)
        time.sleep(float(interval))


if __name__ == "__main__":
    main(*sys.argv[1:])
