"""TLS files in the config: key modes, password files, certificate expiry (no cryptography)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from edge.config import load
from edge.errors import ConfigError
from edge.tlsfiles import CertError, earliest_expiry, not_after, read_certificates
from tests.support.certs import CertAuthority
from tests.support.hall import ROOT, write_config


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertAuthority:
    return CertAuthority(tmp_path_factory.mktemp("ca"))


def _config(tmp_path: Path, extra: str) -> Path:
    path = write_config(tmp_path / "hall.toml", "mqtt://127.0.0.1:1883", "mqtts://127.0.0.1:8883")
    text = path.read_text().replace(
        'url = "mqtts://127.0.0.1:8883"\n', f'url = "mqtts://127.0.0.1:8883"\n{extra}\n'
    )
    path.write_text(text)
    return path


def test_not_after_matches_cryptography(ca: CertAuthority) -> None:
    for issued in (
        ca.client("c30", days=30),
        ca.server("s", days=3000),
        ca.client("e", expired=True),
    ):
        der = read_certificates(issued.cert)[0]
        want = x509.load_der_x509_certificate(der).not_valid_after_utc
        assert not_after(der) == want == issued.not_after
    # The CA lasts 10 years; a bundle's earliest expiry is its first certificate to expire.
    bundle = ca.folder / "bundle.pem"
    bundle.write_bytes(ca.path.read_bytes() + ca.client("soon", days=3).cert.read_bytes())
    assert (earliest_expiry(bundle) - datetime.now(UTC)).days in (2, 3)


def test_not_a_certificate_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    with pytest.raises(CertError, match=r"junk\.pem: no PEM certificate"):
        read_certificates(junk)
    junk.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(CertError, match=r"junk\.pem: not an X\.509"):
        earliest_expiry(junk)


def test_key_readable_by_others_refused(tmp_path: Path, ca: CertAuthority) -> None:
    client = ca.client("open")
    cfg = _config(tmp_path, f'ca = "{ca.path}"\ncert = "{client.cert}"\nkey = "{client.key}"')
    load(cfg)  # 0600 as made: accepted
    os.chmod(client.key, 0o644)
    with pytest.raises(ConfigError) as err:
        load(cfg)
    assert str(err.value) == (
        f"{cfg}: cloud.key: expected a file readable only by its owner (mode 0600), got 0644"
    )
    os.chmod(client.key, 0o640)
    with pytest.raises(ConfigError, match="got 0640"):
        load(cfg)
    # `config check` says the same in one line, exit 2, no traceback.
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "config", "check", str(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2
    assert "cloud.key: expected a file readable only by its owner (mode 0600), got 0640" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr + done.stdout


def test_password_file(tmp_path: Path) -> None:
    (tmp_path / "cloud.pass").write_text("s3cret  \nsecond line ignored\n")
    cfg = load(_config(tmp_path, 'username = "hall"\npassword_file = "cloud.pass"'))
    assert cfg.cloud.password == "s3cret"
    assert cfg.hall_broker.password is None
    path = _config(tmp_path, "")
    path.write_text(
        path.read_text().replace(
            'url = "mqtt://127.0.0.1:1883"\n',
            'url = "mqtt://127.0.0.1:1883"\nusername = "hall-edge"\npassword_file = "cloud.pass"\n',
        )
    )
    assert load(path).hall_broker.password == "s3cret"

    both = _config(tmp_path, 'password = "x"\npassword_file = "cloud.pass"')
    with pytest.raises(ConfigError, match=r"cloud\.password_file: expected either password or"):
        load(both)
    missing = _config(tmp_path, 'password_file = "nope.pass"')
    with pytest.raises(ConfigError, match=r"cloud\.password_file: expected a readable file"):
        load(missing)
    (tmp_path / "empty.pass").write_text("\n")
    empty = _config(tmp_path, 'password_file = "empty.pass"')
    with pytest.raises(ConfigError, match="first line is empty"):
        load(empty)
