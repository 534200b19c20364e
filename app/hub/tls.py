"""HTTPS for the hub with a certificate it makes itself, which each site pins on first join.

A hub reached across networks should not take site tokens and jobs over plain HTTP. HUB.yaml's
`tls: {cert: hub-cert.pem, key: hub-key.pem}` (paths beside HUB.yaml unless absolute) makes it
serve HTTPS; `tablao hub make-cert` writes such a pair with the system's `openssl` (an EC P-256
key, ten years, the names given as subject alternative names) and prints the certificate's
SHA-256 fingerprint. No authority signs it: a site trusts it by its fingerprint instead, the one
named in its `hub_fingerprint`, or else the one it saw on its first join (kept in
`hub-fingerprint.txt` beside its flamenco-manager.yaml), and refuses any other afterwards.
"""

from __future__ import annotations

import hashlib
import ipaddress
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

from app.manager.settings.config import ConfigError, ManagerConfig

CERT_NAME, KEY_NAME = "hub-cert.pem", "hub-key.pem"


def tls_files(config: ManagerConfig) -> tuple[Path, Path] | None:
    """(certificate, key) named by HUB.yaml's `tls`, or None for plain HTTP."""
    value: Any = config.extra.get("tls")
    if not value:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("cert"), str) or not isinstance(value.get("key"), str):
        raise ConfigError(f"{config.path}: setting `tls`: expected {{cert: FILE, key: FILE}}; "
                          "`tablao hub make-cert` writes both")
    return config.resolve(value["cert"]), config.resolve(value["key"])


def server_context(config: ManagerConfig) -> ssl.SSLContext | None:
    files = tls_files(config)
    if files is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(*files)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{config.path}: setting `tls`: cannot load {files[0]} and {files[1]} ({exc})") from None
    return context


def fingerprint(cert: Path) -> str:
    """The certificate's SHA-256 fingerprint (of its DER form), as lowercase hex."""
    der = ssl.PEM_cert_to_DER_cert(cert.read_text(encoding="ascii"))
    return hashlib.sha256(der).hexdigest()


def make_certificate(folder: Path, names: list[str]) -> tuple[Path, Path]:
    """Write a self-made certificate and its key into `folder` with `openssl`; (cert, key)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ConfigError("making a certificate needs the `openssl` program; install it, or name a certificate and "
                          "key of your own in HUB.yaml's `tls`")
    cert, key = folder / CERT_NAME, folder / KEY_NAME
    alt = ",".join(f"IP:{n}" if _is_ip(n) else f"DNS:{n}" for n in names)
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "3650", "-subj", f"/CN={names[0]}", "-addext", f"subjectAltName={alt}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    key.chmod(0o600)
    return cert, key


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
