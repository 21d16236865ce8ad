"""JSON Web Tokens: encode with RS256, decode and verify RS256/PS256."""
import json
import time

from .pki import b64url, b64url_decode


class JwtError(Exception):
    pass


def encode(claims, key, kid=None, extra_header=None):
    header = {"typ": "JWT", "alg": "RS256"}
    if kid:
        header["kid"] = kid
    header.update(extra_header or {})
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    return signing_input + "." + b64url(key.sign_rs256(signing_input.encode()))


def decode_unverified(token):
    """(header, claims, signing_input, signature); raises JwtError on a malformed token."""
    if not isinstance(token, str):
        raise JwtError("token is not a string")
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError("JWT must have three segments")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except Exception as exc:  # any decoding problem makes it malformed
        raise JwtError("JWT is not well formed: %s" % exc)
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwtError("JWT header and payload must be JSON objects")
    return header, claims, (parts[0] + "." + parts[1]).encode(), signature


def verify_signature(token, public_key):
    header, claims, signing_input, signature = decode_unverified(token)
    alg = header.get("alg")
    if alg not in ("RS256", "PS256"):
        raise JwtError("unsupported alg %r" % alg)
    if not public_key.verify(alg, signing_input, signature):
        raise JwtError("signature verification failed")
    return header, claims


def now():
    return int(time.time())
