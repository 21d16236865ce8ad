"""The Actions results service: CreateArtifact, block upload to Azurite, Finalize, List, signed URL, Delete."""
import base64
import hashlib

from .helpers import ENV, SandboxTest, call

TWIRP = "https://results-receiver.actions.githubusercontent.com/twirp/github.actions.results.api.v1.ArtifactService/"
RUN = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
JOB = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"


def twirp(method, body, token=None):
    return call("POST", TWIRP + method, body=body, token=token or ENV["ACTIONS_RUNTIME_TOKEN"])


def ids(**kw):
    d = {"workflow_run_backend_id": RUN, "workflow_job_run_backend_id": JOB}
    d.update(kw)
    return d


class ResultsTests(SandboxTest):
    def upload(self, url, chunks):
        block_ids = []
        for i, chunk in enumerate(chunks):
            bid = base64.b64encode(b"%06d" % i).decode()
            r = call("PUT", url + "&comp=block&blockid=" + bid, raw=chunk, headers={"x-ms-version": "2021-12-02"})
            self.assertEqual(r.status, 201, r.body)
            block_ids.append(bid)
        xml = '<?xml version="1.0" encoding="utf-8"?><BlockList>%s</BlockList>' % "".join("<Latest>%s</Latest>" % b for b in block_ids)
        r = call("PUT", url + "&comp=blocklist", raw=xml.encode(), headers={"x-ms-version": "2021-12-02",
                                                                           "x-ms-blob-content-type": "application/zip"})
        self.assertEqual(r.status, 201, r.body)

    def test_full_upload_cycle(self):
        r = twirp("CreateArtifact", ids(name="logs", version=4))
        self.assertEqual(r.status, 200, r.body)
        url = r.json()["signed_upload_url"]
        self.assertTrue(url.startswith("https://productionresultssa0.blob.core.windows.net/"))
        chunks = [b"a" * 70000, b"b" * 1234]
        self.upload(url, chunks)
        data = b"".join(chunks)
        bad = twirp("FinalizeArtifact", ids(name="logs", size=str(len(data) + 1), hash="sha256:" + hashlib.sha256(data).hexdigest()))
        self.assertEqual(bad.status, 400)
        bad = twirp("FinalizeArtifact", ids(name="logs", size=str(len(data)), hash="sha256:" + "0" * 64))
        self.assertEqual(bad.json()["code"], "invalid_argument")
        fin = twirp("FinalizeArtifact", ids(name="logs", size=str(len(data)), hash="sha256:" + hashlib.sha256(data).hexdigest()))
        self.assertEqual(fin.status, 200, fin.body)
        art_id = fin.json()["artifact_id"]
        listed = twirp("ListArtifacts", ids(name_filter="logs")).json()["artifacts"]
        self.assertEqual([(a["name"], a["size"], a["database_id"]) for a in listed], [("logs", str(len(data)), art_id)])
        signed = twirp("GetSignedArtifactURL", ids(name="logs")).json()["signed_url"]
        self.assertEqual(call("GET", signed).body, data)
        dup = twirp("CreateArtifact", ids(name="logs", version=4))
        self.assertEqual((dup.status, dup.json()["code"]), (409, "already_exists"))
        self.assertEqual(twirp("DeleteArtifact", ids(name="logs")).status, 200)
        self.assertEqual(twirp("ListArtifacts", ids()).json()["artifacts"], [])

    def test_version7_mime_type_and_strict_fields(self):
        self.assertEqual(twirp("CreateArtifact", ids(name="z", version=7, mime_type="application/zip")).status, 200)
        self.assertEqual(twirp("CreateArtifact", ids(name="y", version=7)).status, 400)
        r = twirp("CreateArtifact", ids(name="x", version=4, unknown_field=1))
        self.assertEqual(r.json()["code"], "malformed")
        self.assertEqual(twirp("CreateArtifact", {"workflowRunBackendId": RUN, "workflowJobRunBackendId": JOB, "name": "camel", "version": 4}).status, 200)

    def test_ids_and_token_checked(self):
        self.assertEqual(twirp("CreateArtifact", ids(workflow_run_backend_id="other", name="a", version=4)).json()["code"], "permission_denied")
        self.assertEqual(twirp("CreateArtifact", ids(name="a", version=4), token="junk").status, 401)
        self.assertEqual(twirp("CreateArtifact", ids(name="bad:name", version=4)).json()["code"], "invalid_argument")
        self.assertEqual(twirp("FinalizeArtifact", ids(name="never", size="1")).json()["code"], "not_found")
