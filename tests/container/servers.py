#!/usr/bin/env python3
"""Loopback servers for rootfs-test.sh's network cases (standard library only).

    servers.py CERT KEY PORTFILE LOGFILE

Starts an HTTPS server (GET / -> 200 "ok") with CERT/KEY and a plain HTTP
CONNECT proxy, both on 127.0.0.1 with ports chosen by the kernel; writes
"<https port> <proxy port>" to PORTFILE once both listen, and one line per
tunnel ("CONNECT host:port") to LOGFILE. Runs until killed.
"""
import http.server
import os
import select
import socket
import socketserver
import ssl
import sys
import threading


class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Proxy(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline().decode("latin-1").strip()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        method, target, _ = (line.split(" ") + ["", ""])[:3]
        if method != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        with open(LOG, "a") as log:
            log.write("CONNECT %s\n" % target)
        host, port = target.rsplit(":", 1)
        # The proxy resolves names itself, as a real one would; the tests
        # point the name at the loopback HTTPS server.
        upstream = socket.create_connection(("127.0.0.1", HTTPS_PORT), timeout=10)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        client = self.connection
        try:
            while True:
                ready, _, _ = select.select([client, upstream], [], [], 15)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is client else client).sendall(data)
        finally:
            upstream.close()


class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


class ThreadedTCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


cert, key, portfile, LOG = sys.argv[1:5]
https = Threaded(("127.0.0.1", 0), Ok)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
https.socket = ctx.wrap_socket(https.socket, server_side=True)
HTTPS_PORT = https.server_address[1]
proxy = ThreadedTCP(("127.0.0.1", 0), Proxy)
threading.Thread(target=https.serve_forever, daemon=True).start()
with open(portfile + ".tmp", "w") as f:
    f.write("%d %d\n" % (HTTPS_PORT, proxy.server_address[1]))
os.rename(portfile + ".tmp", portfile)
proxy.serve_forever()
