"""The TLS files of a broker link: certificate expiry, key file modes, failures in plain words.

Certificates are read with a few lines of DER walking rather than `cryptography.x509`:
the hub reads its client certificate's expiry on every failed connect, and importing
`cryptography` would add about 8 MB to the resident size of a process that otherwise never
needs it (the hub's RSS is a budget, see edge/cli/__init__.py).
"""

from __future__ import annotations

import base64
import binascii
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from edge.errors import EdgeError

__all__ = [
    "CertError",
    "TlsFiles",
    "context_error",
    "earliest_expiry",
    "explain_failure",
    "key_mode_problem",
    "not_after",
    "read_certificates",
]

_BEGIN = "-----BEGIN CERTIFICATE-----"
_END = "-----END CERTIFICATE-----"


class CertError(EdgeError, ValueError):
    """A file that does not hold the PEM certificate(s) it should."""


def read_certificates(path: Path) -> list[bytes]:
    """The DER bytes of every PEM certificate in `path` (a CA bundle may hold several)."""
    try:
        text = path.read_text("ascii", errors="replace")
    except OSError as exc:
        raise CertError(f"{path}: cannot read it ({exc.strerror})") from None
    out: list[bytes] = []
    rest = text
    while _BEGIN in rest:
        body, sep, rest = rest.split(_BEGIN, 1)[1].partition(_END)
        if not sep:
            raise CertError(f"{path}: a certificate without its {_END} line")
        try:
            out.append(base64.b64decode("".join(body.split()), validate=True))
        except (binascii.Error, ValueError):
            raise CertError(f"{path}: a certificate that is not valid base64") from None
    if not out:
        raise CertError(f"{path}: no PEM certificate in it")
    return out


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the DER element at `pos`."""
    if pos + 2 > len(data):
        raise CertError("truncated DER")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or pos + n > len(data):
            raise CertError("bad DER length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise CertError("truncated DER")
    return tag, pos, pos + length


def _time(tag: int, raw: bytes) -> datetime:
    text = raw.decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ: years 1950-2049 (RFC 5280 4.1.2.5.1)
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        raise CertError("a validity time that is neither UTCTime nor GeneralizedTime")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)


def not_after(der: bytes) -> datetime:
    """The end of a certificate's validity (Certificate > tbsCertificate > validity)."""
    try:
        _, cert, _ = _tlv(der, 0)
        _, pos, _ = _tlv(der, cert)  # tbsCertificate
        tag, _, end = _tlv(der, pos)
        if tag == 0xA0:  # [0] version
            pos = end
            tag, _, end = _tlv(der, pos)
        for _skip in ("serialNumber", "signature", "issuer"):
            _, _, pos = _tlv(der, pos)
        _, validity, _ = _tlv(der, pos)
        _, _, after = _tlv(der, validity)  # notBefore
        tag, start, end = _tlv(der, after)  # notAfter
        return _time(tag, der[start:end])
    except (CertError, ValueError, UnicodeDecodeError) as exc:
        raise CertError(f"not an X.509 certificate ({exc})") from None


def earliest_expiry(path: Path) -> datetime:
    """When the first certificate of `path` to expire does so."""
    ends = []
    for der in read_certificates(path):
        try:
            ends.append(not_after(der))
        except CertError as exc:
            raise CertError(f"{path}: {exc}") from None
    return min(ends)


def key_mode_problem(path: Path) -> str | None:
    """Why a private key file is too open, or None: group and others must have no access."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None  # existence is checked elsewhere, with its own message
    if mode & 0o077:
        return f"got {stat.S_IMODE(mode):04o}"
    return None


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The files of one link, for explanations; None where not configured."""

    ca: str | None
    cert: str | None
    key: str | None


def _expired_client_cert(files: TlsFiles, now: datetime) -> str | None:
    if not files.cert:
        return None
    try:
        end = earliest_expiry(Path(files.cert))
    except CertError:
        return None
    if end > now:
        return None
    return f"client certificate {files.cert} expired on {end:%Y-%m-%d %H:%M} UTC"


def explain_failure(reason: str, host: str, files: TlsFiles, now: datetime | None = None) -> str:
    """One line saying what went wrong on a TLS link, naming the file to look at.

    `reason` is what the socket or the broker said (an ssl error's text, or the last
    read error). The broker's own words stay at the end, after the explanation."""
    now = now or datetime.now(UTC)
    low = reason.lower()
    expired = _expired_client_cert(files, now)
    if expired:
        # A TLS 1.3 broker refuses a client certificate after the handshake: the client
        # sees only an alert or a closed socket, so say what we can tell from the file.
        return f"{expired}; the broker refused the connection ({reason})"
    ca = files.ca or "the system's CA store"
    if "mismatch" in low and "certificate is not valid for" in low:
        return (
            f"TLS: the server's certificate is not issued for {host} ({reason}); connect by a "
            "host name or address the certificate names"
        )
    if "certificate has expired" in low:
        return f"TLS: the server's certificate has expired ({reason})"
    if "certificate_verify_failed" in low or "certificate verify failed" in low:
        return f"TLS: the server's certificate is not signed by the CA in {ca} ({reason})"
    if "alert unknown ca" in low or "alert bad certificate" in low:
        return f"TLS: the broker does not accept client certificate {files.cert} ({reason})"
    if "alert certificate required" in low or "alert handshake failure" in low:
        if not files.cert:
            return f"TLS: the broker requires a client certificate (cert, key) ({reason})"
        return f"TLS: the broker refused client certificate {files.cert} ({reason})"
    if "alert certificate expired" in low:
        return f"TLS: the broker says client certificate {files.cert} has expired ({reason})"
    if "wrong version number" in low or (
        "cannot connect" in low and ("reset by peer" in low or "eof" in low)
    ):
        # A plain MQTT listener answers a ClientHello with garbage or by hanging up.
        return (
            f"TLS: {host} cut the TLS handshake off: does it speak TLS on this port "
            f"(mqtts:// to a plain MQTT port?) ({reason})"
        )
    return reason


def context_error(exc: Exception, files: TlsFiles) -> str:
    """A TLS context that cannot be built: which file is wrong and how."""
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if isinstance(exc, FileNotFoundError):
        return f"TLS: a file does not exist: {exc.filename}"
    if isinstance(exc, PermissionError):
        return f"TLS: cannot read {exc.filename} (permission denied)"
    if "key values mismatch" in low:
        return f"TLS: key {files.key} does not belong to certificate {files.cert}"
    if files.cert and ("pem lib" in low or "no start line" in low or "pem" in low):
        return f"TLS: cannot load certificate {files.cert} with key {files.key}: {text}"
    return f"TLS: cannot load CA file {files.ca}: {text}"
