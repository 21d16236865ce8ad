"""The sandbox's own client for Azurite: Shared Key requests and service SAS.

Requests go straight to Azurite (over TLS on loopback) with the production
host name in the Host header, so Azurite takes the account from the host and
the canonicalized resource is the same /account/container/blob a client of
real Azure signs.
"""
import base64
import hashlib
import hmac
import http.client
import ssl
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlencode

from .httpcore import rfc1123

API_VERSION = "2021-12-02"
SAS_VERSION = "2021-08-06"


class BlobError(Exception):
    def __init__(self, status, code, message=""):
        super().__init__("%s %s %s" % (status, code, message))
        self.status = status
        self.code = code


class BlobClient:
    def __init__(self, azurite_port, ca_file, keys):
        self.port = azurite_port
        self.keys = dict(keys)          # account -> base64 key
        self.ctx = ssl.create_default_context(cafile=ca_file)

    def host(self, account):
        return "%s.blob.core.windows.net" % account

    def url(self, account, container, blob=""):
        return "https://%s/%s%s" % (self.host(account), container, "/" + quote(blob) if blob else "")

    def connection(self):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=120)

    # -- Shared Key ----------------------------------------------------------

    def _sign(self, account, method, path, query, headers):
        def h(name):
            return headers.get(name, "")
        length = h("Content-Length")
        string_to_sign = "\n".join([
            method, h("Content-Encoding"), h("Content-Language"), "" if length in ("", "0") else length,
            h("Content-MD5"), h("Content-Type"), "", h("If-Modified-Since"), h("If-Match"),
            h("If-None-Match"), h("If-Unmodified-Since"), h("Range")]) + "\n"
        xms = sorted((k.lower(), v.strip()) for k, v in headers.items() if k.lower().startswith("x-ms-"))
        string_to_sign += "".join("%s:%s\n" % kv for kv in xms)
        resource = "/%s%s" % (account, path)
        for k in sorted(query, key=str.lower):
            resource += "\n%s:%s" % (k.lower(), query[k])
        string_to_sign += resource
        sig = hmac.new(base64.b64decode(self.keys[account]), string_to_sign.encode(), hashlib.sha256).digest()
        return "SharedKey %s:%s" % (account, base64.b64encode(sig).decode())

    def request(self, method, account, container, blob="", query=None, body=b"", headers=None, ok=(200, 201, 202)):
        query = dict(query or {})
        path = "/" + container + ("/" + quote(blob) if blob else "")
        hdrs = {"x-ms-version": API_VERSION, "x-ms-date": rfc1123(), "Content-Length": str(len(body))}
        hdrs.update(headers or {})
        hdrs["Authorization"] = self._sign(account, method, path, query, hdrs)
        hdrs["Host"] = self.host(account)
        target = path + ("?" + urlencode(query) if query else "")
        conn = self.connection()
        try:
            conn.request(method, target, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.status not in ok:
            code = resp.getheader("x-ms-error-code") or ""
            raise BlobError(resp.status, code, data[:300].decode(errors="replace"))
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), data

    def ensure_container(self, account, container):
        try:
            self.request("PUT", account, container, query={"restype": "container"})
        except BlobError as exc:
            if exc.code != "ContainerAlreadyExists":
                raise

    def delete_container(self, account, container):
        try:
            self.request("DELETE", account, container, query={"restype": "container"})
        except BlobError as exc:
            if exc.status != 404:
                raise

    def list_containers(self, account):
        _, _, data = self.request("GET", account, "", query={"comp": "list"})
        return [e.text for e in ET.fromstring(data).iter("Name")]

    def put_blob(self, account, container, blob, data, content_type="application/octet-stream"):
        return self.request("PUT", account, container, blob, body=data,
                            headers={"x-ms-blob-type": "BlockBlob", "Content-Type": content_type})

    def append_blob_create(self, account, container, blob, content_type="text/plain; charset=utf-8"):
        self.request("PUT", account, container, blob,
                     headers={"x-ms-blob-type": "AppendBlob", "Content-Type": content_type})

    def append_block(self, account, container, blob, data):
        self.request("PUT", account, container, blob, query={"comp": "appendblock"}, body=data)

    def get_blob(self, account, container, blob):
        _, headers, data = self.request("GET", account, container, blob)
        return data, headers

    def blob_properties(self, account, container, blob):
        """Headers of the blob, or None when it does not exist."""
        try:
            _, headers, _ = self.request("HEAD", account, container, blob)
            return headers
        except BlobError as exc:
            if exc.status == 404:
                return None
            raise

    def download_to(self, account, container, blob, out_path):
        """Streams a blob to a file, hashing it on the way. Returns (size, sha256 hex)."""
        path = "/" + container + "/" + quote(blob)
        hdrs = {"x-ms-version": API_VERSION, "x-ms-date": rfc1123()}
        hdrs["Authorization"] = self._sign(account, "GET", path, {}, hdrs)
        hdrs["Host"] = self.host(account)
        conn = self.connection()
        digest = hashlib.sha256()
        size = 0
        try:
            conn.request("GET", path, headers=hdrs)
            resp = conn.getresponse()
            if resp.status != 200:
                raise BlobError(resp.status, resp.getheader("x-ms-error-code") or "", "")
            with open(out_path, "wb") if out_path else _NullFile() as f:
                while True:
                    chunk = resp.read(1 << 20)
                    if not chunk:
                        break
                    digest.update(chunk)
                    size += len(chunk)
                    f.write(chunk)
        finally:
            conn.close()
        return size, digest.hexdigest()

    def list_blobs(self, account, container, prefix=""):
        names = []
        marker = ""
        while True:
            query = {"restype": "container", "comp": "list", "prefix": prefix}
            if marker:
                query["marker"] = marker
            try:
                _, _, data = self.request("GET", account, container, query=query)
            except BlobError as exc:
                if exc.status == 404:
                    return []
                raise
            root = ET.fromstring(data)
            for b in root.iter("Blob"):
                props = b.find("Properties")
                size = props.find("Content-Length").text if props is not None else "0"
                names.append((b.find("Name").text, int(size or 0)))
            marker = (root.findtext("NextMarker") or "")
            if not marker:
                return names

    # -- SAS -------------------------------------------------------------------

    def sas(self, account, container, blob="", permissions="r", expiry_seconds=3600):
        """A service SAS query string (container-level when blob is empty)."""
        now = time.time()
        st = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 300))
        se = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + expiry_seconds))
        sr = "b" if blob else "c"
        resource = "/blob/%s/%s%s" % (account, container, "/" + blob if blob else "")
        fields = [permissions, st, se, resource, "", "", "https", SAS_VERSION, sr, "", "", "", "", "", "", ""]
        sig = hmac.new(base64.b64decode(self.keys[account]), "\n".join(fields).encode(), hashlib.sha256).digest()
        return urlencode([("sv", SAS_VERSION), ("spr", "https"), ("st", st), ("se", se), ("sr", sr),
                          ("sp", permissions), ("sig", base64.b64encode(sig).decode())])


class _NullFile:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def write(self, data):
        pass
