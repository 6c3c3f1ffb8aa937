"""The cloud link: reachable, its TLS handshake with the configured files, without logging in.

The handshake is made with `ssl` directly: verifying the server's certificate and host name
and having the client certificate accepted needs no MQTT login, and a login with the hall's
identity could take the running hub's cloud connection over.
"""

from __future__ import annotations

import socket
import ssl

from edge.doctor.context import Context
from edge.doctor.result import Check, fail, ok, warn
from edge.mqttio import BrokerAddress
from edge.tlsfiles import TlsFiles, context_error, explain_failure

NET_HINT = "check the uplink (4G router, firewall: outbound {port}) and cloud.url"


def _files(ctx: Context) -> TlsFiles:
    assert ctx.cfg is not None
    return TlsFiles(**ctx.cfg.cloud.tls_paths(ctx.cfg.resolve))


def _handshake(sock: socket.socket, addr: BrokerAddress, files: TlsFiles, timeout: float) -> Check:
    name = "cloud TLS"
    try:
        tls_ctx = ssl.create_default_context(cafile=files.ca)
        if files.cert:
            tls_ctx.load_cert_chain(files.cert, files.key)
    except (OSError, ValueError) as exc:
        return fail(name, context_error(exc, files), "correct cloud.ca, cloud.cert or cloud.key")
    hint = "see the reason; certificates: cloud.ca, cloud.cert, cloud.key"
    try:
        with tls_ctx.wrap_socket(sock, server_hostname=addr.host) as tls:
            version = tls.version()
            # Under TLS 1.3 the broker judges our certificate after the handshake: a refusal
            # is the first thing it sends. Silence means it waits for our CONNECT: accepted.
            tls.settimeout(min(0.5, timeout))
            try:
                data = tls.recv(1)
            except TimeoutError:
                data = None
            if data == b"":
                return fail(name, "the broker closed the connection after the handshake", hint)
    except ssl.SSLError as exc:
        reason = explain_failure(f"TLS handshake: {exc}", addr.host, files)
        return fail(name, reason, hint)
    except OSError as exc:
        return fail(name, f"TLS handshake: {exc}", hint)
    whose = f", client certificate {files.cert} accepted" if files.cert else ""
    return ok(name, f"{version}, server certificate valid for {addr.host}{whose}")


def check_cloud(ctx: Context) -> list[Check]:
    if ctx.cfg is None:
        return [warn("cloud reachable", "not checked: the config cannot be read")]
    url = ctx.cfg.cloud.url
    addr = BrokerAddress.parse(url)
    try:
        sock = socket.create_connection((addr.host, addr.port), timeout=ctx.timeout_s)
    except OSError as exc:
        return [
            fail(
                "cloud reachable",
                f"{url}: {exc.strerror or exc}",
                NET_HINT.format(port=addr.port),
            ),
            warn("cloud TLS", "not checked: the cloud is unreachable"),
        ]
    reach = ok("cloud reachable", f"{addr.host}:{addr.port} accepts connections")
    if not addr.tls:
        sock.close()
        return [
            reach,
            warn(
                "cloud TLS", f"{url} is not encrypted", "use mqtts:// with cloud.ca (and cert, key)"
            ),
        ]
    with sock:
        return [reach, _handshake(sock, addr, _files(ctx), ctx.timeout_s)]
