"""DKIM signatures on outgoing mail (dkimpy), when QUIZ_DKIM_KEY_FILE is set.

The signature is computed over the final wire bytes, after every header is
in place, and put in front of them. It covers the headers a receiver and a
mail client act on: From, To, Subject, Date, Message-ID, the MIME headers,
and List-Unsubscribe + List-Unsubscribe-Post (Gmail and Yahoo honour
one-click unsubscribe only when those are signed). Headers in that list that
a message lacks are signed as absent, so nobody can add them on the way.

Relaxed/relaxed canonicalisation survives the whitespace changes relays make.
The key is read once per process; without the setting no signer exists and
the send path does not touch this module.

dkimpy does everything except the RSA operation itself: that runs in
OpenSSL (cryptography) instead of dkimpy's pure-Python modular arithmetic,
about 7.4 ms → well under 1 ms per message (docs/benchmarks.md, "DKIM
signing"). The tests verify every signature with dkimpy's own verifier.

DNS: publish the public key as a TXT record at
`<QUIZ_DKIM_SELECTOR>._domainkey.<QUIZ_DKIM_DOMAIN>` (docs/deploy.md).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

SIGNED_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"MIME-Version",
    b"Content-Type",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
    b"List-Id",
)


class _OpenSSLDKIM(dkim.DKIM):
    """dkimpy's signer with the RSA step in OpenSSL.

    Overrides `gen_header` (dkimpy 1.1: header hashing, then
    RSASSA-PKCS1-v1_5 over the digest, then folding); everything it calls is
    dkimpy's own. Only rsa-sha256 goes through here.
    """

    openssl_key: rsa.RSAPrivateKey

    def gen_header(self, fields, include_headers, canon_policy, header_name, pk, standardize=False):  # noqa: ANN001, ANN201, ARG002
        value = dkim.fold(b"; ".join(b"=".join(x) for x in fields), namelen=len(header_name), linesep=b"\r\n")
        value = dkim.RE_BTAG.sub(b"\\1", value)
        hasher = self.hasher()
        headers = canon_policy.canonicalize_headers(self.headers)
        self.signed_headers = dkim.hash_headers(
            hasher, canon_policy, headers, include_headers, (header_name, b" " + value), dict(fields)
        )
        signature = self.openssl_key.sign(hasher.digest(), padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        at = next(i for i, (name, _) in enumerate(fields) if name == b"b")
        fields[at] = (b"b", base64.b64encode(signature))
        value = b"; ".join(b"=".join(x) for x in fields) + self.linesep
        return dkim.fold(value, namelen=len(header_name), linesep=self.linesep)


class DKIMSigner:
    """Signs message bytes for one domain and selector with one RSA private key (PEM)."""

    def __init__(self, key_file: str | Path, selector: str, domain: str) -> None:
        self.key = Path(key_file).read_bytes()
        key = serialization.load_pem_private_key(self.key, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{key_file}: not an RSA private key")
        self.openssl_key = key
        self.selector = selector.encode("ascii")
        self.domain = domain.encode("ascii")

    def sign(self, data: bytes) -> bytes:
        """`data` with a DKIM-Signature header in front (CRLF line ends, as on the wire)."""
        signer = _OpenSSLDKIM(data, linesep=b"\r\n")
        signer.openssl_key = self.openssl_key
        signature = signer.sign(
            self.selector,
            self.domain,
            self.key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
        return signature + data


def signer_from_config(cfg: Mapping[str, Any]) -> DKIMSigner | None:
    """A signer when QUIZ_DKIM_KEY_FILE is set (with selector and domain), else None.

    One per process and key: the key file is read and parsed once, not on
    every scheduler tick. A new key takes effect when the scheduler restarts.
    """
    key_file = cfg.get("QUIZ_DKIM_KEY_FILE")
    if not key_file:
        return None
    selector, domain = cfg.get("QUIZ_DKIM_SELECTOR"), cfg.get("QUIZ_DKIM_DOMAIN")
    if not selector or not domain:
        raise ValueError("QUIZ_DKIM_KEY_FILE needs QUIZ_DKIM_SELECTOR and QUIZ_DKIM_DOMAIN")
    return _signer(str(key_file), selector, domain)


@lru_cache(maxsize=4)
def _signer(key_file: str, selector: str, domain: str) -> DKIMSigner:
    return DKIMSigner(key_file, selector, domain)
