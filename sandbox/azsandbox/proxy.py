"""The HTTPS CONNECT proxy: the only way the product reaches the sandbox.

`CONNECT host:443` for a host the sandbox serves is answered 200 and the TLS
session is terminated here with the per-run leaf certificate; any other
CONNECT (or a plain-HTTP proxy request) is refused with 403 and nothing ever
connects out. Inside the tunnel every request is first matched against the
fault script, then dispatched by Host: blob hosts are streamed to Azurite
(bodies never buffered whole), everything else goes to an in-process service.
"""
import http.client
import socket
import socketserver
import ssl
import time
from http.server import BaseHTTPRequestHandler

from .httpcore import Request, Response

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate",
              "te", "trailer", "transfer-encoding", "upgrade"}
COPY_CHUNK = 1 << 20
MAX_SERVICE_BODY = 256 << 20


class ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, app):
        self.app = app
        super().__init__(address, ProxyHandler)


class ProxyHandler(socketserver.StreamRequestHandler):
    timeout = 300

    def handle(self):
        app = self.server.app
        line = self.rfile.readline(8192).decode("latin-1").strip()
        if not line:
            return
        parts = line.split()
        http.client.parse_headers(self.rfile)
        if len(parts) != 3:
            self._refuse(400, "Bad Request")
            return
        method, target, _ = parts
        if method.upper() != "CONNECT":
            # Plain-HTTP proxying would mean connecting out: never.
            self._refuse(403, "the sandbox proxy only tunnels HTTPS to sandbox hosts")
            return
        host, _, port = target.rpartition(":")
        host = host.strip("[]").lower()
        if port != "443" or not app.serves(host):
            app.log("proxy: refused CONNECT %s" % target)
            self._refuse(403, "host %s is not served by the sandbox" % target)
            return
        self.wfile.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        self.wfile.flush()
        try:
            tls = app.server_tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            app.log("proxy: TLS handshake for %s failed: %s" % (host, exc))
            return
        try:
            TunnelHandler(tls, self.client_address, self.server, host)
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def _refuse(self, status, reason):
        body = (reason + "\n").encode()
        self.wfile.write(b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                         % (status, b"Forbidden" if status == 403 else b"Bad Request", len(body)) + body)


class TunnelHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive) over the terminated TLS session."""
    protocol_version = "HTTP/1.1"
    timeout = 300

    def __init__(self, sock, client_address, server, connect_host):
        self.connect_host = connect_host
        self.app = server.app
        super().__init__(sock, client_address, server)

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, fmt, *args):
        pass

    def version_string(self):
        return "Microsoft-HTTPAPI/2.0"

    # -- request plumbing -------------------------------------------------

    def _host(self):
        host = (self.headers.get("Host") or self.connect_host).strip().lower()
        if host.startswith("["):
            return host
        return host.rsplit(":", 1)[0] if ":" in host else host

    def _read_body(self, limit=MAX_SERVICE_BODY):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            for chunk in self._iter_chunked():
                out += chunk
                if len(out) > limit:
                    raise ValueError("body too large")
            return bytes(out)
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            raise ValueError("body too large")
        return self.rfile.read(length) if length else b""

    def _iter_chunked(self):
        while True:
            size_line = self.rfile.readline(1024)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return
            remaining = size
            while remaining:
                chunk = self.rfile.read(min(remaining, COPY_CHUNK))
                if not chunk:
                    raise ConnectionError("client closed mid-body")
                remaining -= len(chunk)
                yield chunk
            self.rfile.readline(16)

    def _discard_body(self):
        """Skip the request body, or give up the connection when it is big."""
        length = int(self.headers.get("Content-Length") or 0)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower() or length > COPY_CHUNK * 4:
            self.close_connection = True
        elif length:
            self.rfile.read(length)

    def _send(self, resp, drop=False):
        body = resp.body or b""
        self.send_response_only(resp.status)
        self.send_header("Date", self.date_time_string())
        for k, v in resp.headers:
            if k.lower() not in ("content-length", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if drop:
            self._drop_after(body)
            return
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _drop_after(self, body):
        """Fault: end the connection with the response half sent."""
        if len(body) >= 2 and self.command != "HEAD":
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
        else:
            self._headers_buffer = self._headers_buffer[:1]
            self.wfile.write(b"HTTP/1.1 20")
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- dispatch ---------------------------------------------------------

    def _dispatch(self):
        app = self.app
        method = self.command
        host = self._host()
        path, _, query = self.path.partition("?")
        started = time.time()
        faults = app.faults.match(method, host, path, query)
        drop = False
        lro = []
        for fault in faults:
            if fault["kind"] == "delay":
                time.sleep(fault["seconds"])
        for fault in faults:
            if fault["kind"] in ("status", "expired_token"):
                self._discard_body()
                resp = app.fault_response(fault, host)
                self._send(resp)
                app.record(method, host, path, resp.status, started, fault=fault["kind"])
                return
            if fault["kind"] == "drop":
                drop = True
            if fault["kind"] == "lro_failed":
                lro.append(fault)
        if app.is_blob_host(host):
            status = self._forward_blob(host, drop)
            app.record(method, host, path, status, started, fault="drop" if drop else None)
            return
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(Response(413, b"request body too large"))
            return
        req = Request(method, host, self.path, self.headers, body, self.client_address)
        req.faults = lro
        resp = app.dispatch(req)
        self._send(resp, drop)
        app.record(method, host, path, resp.status, started, fault="drop" if drop else None)

    def _forward_blob(self, host, drop):
        app = self.app
        denial = app.check_blob_auth(self.headers, host, self.path)
        if denial is not None:
            self._discard_body()
            self._send(denial)
            return denial.status
        conn = app.azurite_connection()
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP_BY_HOP:
                    conn.putheader(k, v)
            chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            if chunked:
                for chunk in self._iter_chunked():
                    conn.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                conn.send(b"0\r\n\r\n")
            else:
                remaining = int(self.headers.get("Content-Length") or 0)
                while remaining:
                    chunk = self.rfile.read(min(remaining, COPY_CHUNK))
                    if not chunk:
                        raise ConnectionError("client closed mid-body")
                    conn.send(chunk)
                    remaining -= len(chunk)
            upstream = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            app.log("proxy: Azurite request failed: %s" % exc)
            self.close_connection = True
            self._send(Response(502, b"storage emulator unavailable"))
            return 502
        try:
            self._relay(upstream, drop)
        finally:
            conn.close()
        return upstream.status

    def _relay(self, upstream, drop):
        self.send_response_only(upstream.status, upstream.reason)
        length = upstream.getheader("Content-Length")
        for k, v in upstream.getheaders():
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        use_chunked = length is None and self.command != "HEAD" and upstream.status not in (204, 304)
        if use_chunked:
            self.send_header("Transfer-Encoding", "chunked")
        if drop:
            half = int(length) // 2 if length and length.isdigit() else 1
            first = upstream.read(half) if self.command != "HEAD" and half > 0 else b""
            if not first:
                self._headers_buffer = []
                self.wfile.write(b"HTTP/1.1 20")
            else:
                self.end_headers()
            if not first:
                pass
            elif use_chunked:
                self.wfile.write(b"%x\r\n" % len(first) + first)
            else:
                self.wfile.write(first)
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.end_headers()
        if self.command == "HEAD":
            return
        while True:
            chunk = upstream.read(COPY_CHUNK) if length is None else upstream.read1(COPY_CHUNK)
            if not chunk:
                break
            if use_chunked:
                self.wfile.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            else:
                self.wfile.write(chunk)
        if use_chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
