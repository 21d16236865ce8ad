"""Keys, certificates and RSA signatures.

The openssl CLI makes every key and certificate (once per run). Signing and
verifying JWTs happens in pure Python on the key numbers, because spawning
openssl for every bearer token check would cost milliseconds per request.
The RSA primitives here are textbook RFC 8017 (PKCS#1 v1.5 and PSS with MGF1).
"""
import base64
import hashlib
import os
import subprocess


class PkiError(Exception):
    pass


def _openssl(*args, stdin=None):
    proc = subprocess.run(["openssl", *args], input=stdin, capture_output=True)
    if proc.returncode != 0:
        raise PkiError("openssl %s failed: %s" % (args[0], proc.stderr.decode(errors="replace").strip()))
    return proc.stdout


# --- minimal DER reader (enough for RSA keys and X.509 public keys) ---------

def _der_read(data, pos):
    tag = data[pos]
    pos += 1
    length = data[pos]
    pos += 1
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    return tag, data[pos:pos + length], pos + length


def _der_children(data):
    out = []
    pos = 0
    while pos < len(data):
        tag, value, pos = _der_read(data, pos)
        out.append((tag, value))
    return out


def pem_blocks(text):
    """Returns [(label, der_bytes)] for each PEM block in text."""
    blocks = []
    label = None
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("-----BEGIN "):
            label = line[11:].rstrip("-").strip()
            lines = []
        elif line.startswith("-----END ") and label is not None:
            blocks.append((label, base64.b64decode("".join(lines))))
            label = None
        elif label is not None:
            lines.append(line)
    return blocks


class RsaPublicKey:
    def __init__(self, n, e):
        self.n = n
        self.e = e
        self.size = (n.bit_length() + 7) // 8

    @classmethod
    def from_pkcs1_der(cls, der):
        _, seq, _ = _der_read(der, 0)
        (_, n), (_, e) = _der_children(seq)[:2]
        return cls(int.from_bytes(n, "big"), int.from_bytes(e, "big"))

    @classmethod
    def from_certificate_pem(cls, cert_pem):
        der = _openssl("x509", "-pubkey", "-noout", stdin=cert_pem.encode())
        der = _openssl("rsa", "-pubin", "-RSAPublicKey_out", "-outform", "DER", stdin=der)
        return cls.from_pkcs1_der(der)

    def jwk(self, kid):
        def b64(i):
            return b64url(i.to_bytes((i.bit_length() + 7) // 8, "big"))
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": b64(self.n), "e": b64(self.e)}

    def verify(self, alg, message, signature):
        """True when signature is a valid RS256 or PS256 signature of message."""
        if len(signature) != self.size:
            return False
        em = pow(int.from_bytes(signature, "big"), self.e, self.n).to_bytes(self.size, "big")
        digest = hashlib.sha256(message).digest()
        if alg == "RS256":
            return em == _pkcs1_v15_encode(digest, self.size)
        if alg == "PS256":
            return _pss_verify(digest, em, self.n.bit_length() - 1)
        return False


class RsaPrivateKey(RsaPublicKey):
    def __init__(self, n, e, d, p, q, dp, dq, qinv):
        super().__init__(n, e)
        self.d, self.p, self.q, self.dp, self.dq, self.qinv = d, p, q, dp, dq, qinv

    @classmethod
    def from_pem_file(cls, path):
        der = _openssl("rsa", "-in", path, "-traditional", "-outform", "DER")
        _, seq, _ = _der_read(der, 0)
        ints = [int.from_bytes(v, "big") for _, v in _der_children(seq)]
        return cls(*ints[1:9])

    def sign_rs256(self, message):
        em = _pkcs1_v15_encode(hashlib.sha256(message).digest(), self.size)
        m = int.from_bytes(em, "big")
        # CRT: about four times faster than pow(m, d, n).
        s1 = pow(m, self.dp, self.p)
        s2 = pow(m, self.dq, self.q)
        h = (self.qinv * (s1 - s2)) % self.p
        return (s2 + h * self.q).to_bytes(self.size, "big")


_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def _pkcs1_v15_encode(digest, size):
    t = _SHA256_DIGEST_INFO + digest
    return b"\x00\x01" + b"\xff" * (size - len(t) - 3) + b"\x00" + t


def _mgf1(seed, length):
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def _pss_verify(digest, em_full, em_bits):
    em_len = (em_bits + 7) // 8
    em = em_full[-em_len:]
    if em_full[:len(em_full) - em_len].strip(b"\x00"):
        return False
    hlen = 32
    if em_len < hlen + 2 or em[-1] != 0xBC:
        return False
    masked_db, h = em[:em_len - hlen - 1], em[em_len - hlen - 1:-1]
    db = bytes(a ^ b for a, b in zip(masked_db, _mgf1(h, len(masked_db))))
    top_bits = 8 * em_len - em_bits
    db = bytes([db[0] & (0xFF >> top_bits)]) + db[1:]
    # Salt length is whatever the signer chose (the "auto" rule): skip the zero padding.
    i = 0
    while i < len(db) and db[i] == 0:
        i += 1
    if i >= len(db) or db[i] != 0x01:
        return False
    salt = db[i + 1:]
    return hashlib.sha256(b"\x00" * 8 + digest + salt).digest() == h


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    if isinstance(text, str):
        text = text.encode()
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def cert_der(cert_pem):
    for label, der in pem_blocks(cert_pem):
        if label == "CERTIFICATE":
            return der
    raise PkiError("no certificate in PEM")


def thumbprints(cert_pem):
    """(x5t, x5t#S256) of a PEM certificate, base64url as JWT headers carry them."""
    der = cert_der(cert_pem)
    return b64url(hashlib.sha1(der).digest()), b64url(hashlib.sha256(der).digest())


# --- generating the run's PKI ----------------------------------------------

def make_key(path, bits=2048):
    _openssl("genrsa", "-out", path, str(bits))
    os.chmod(path, 0o600)


def make_ca(directory):
    """Per-run CA. Returns (ca_cert_path, ca_key_path)."""
    key = os.path.join(directory, "ca.key")
    cert = os.path.join(directory, "ca.pem")
    make_key(key)
    _openssl("req", "-x509", "-new", "-key", key, "-sha256", "-days", "30", "-out", cert,
             "-subj", "/CN=MLOps Local Azure Sandbox CA %s" % os.urandom(4).hex(),
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def make_leaf(directory, ca_cert, ca_key, dns_names, ips=("127.0.0.1",)):
    """One server certificate with every served host name as a SAN."""
    key = os.path.join(directory, "server.key")
    csr = os.path.join(directory, "server.csr")
    cert = os.path.join(directory, "server.pem")
    ext = os.path.join(directory, "server.ext")
    make_key(key)
    _openssl("req", "-new", "-key", key, "-out", csr, "-subj", "/CN=%s" % dns_names[0])
    sans = ["DNS:%s" % d for d in dns_names] + ["IP:%s" % i for i in ips]
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=%s\n" % ",".join(sans))
    _openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
             "-out", cert, "-days", "30", "-sha256", "-extfile", ext)
    return cert, key


def make_self_signed(directory, name, subject):
    """A client certificate such as an app registration would hold. Returns (cert, key, combined)."""
    key = os.path.join(directory, name + ".key")
    cert = os.path.join(directory, name + ".pem")
    combined = os.path.join(directory, name + "-with-key.pem")
    make_key(key)
    _openssl("req", "-x509", "-new", "-key", key, "-sha256", "-days", "30", "-out", cert, "-subj", subject)
    with open(combined, "w") as out, open(key) as k, open(cert) as c:
        out.write(k.read())
        out.write(c.read())
    os.chmod(combined, 0o600)
    return cert, key, combined
