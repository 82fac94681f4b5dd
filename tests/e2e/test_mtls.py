"""mTLS: the Temporal dev server behind nginx terminating TLS and requiring a client certificate.

A purchase completes over the proxy with the client certificate from a Temporal profile; a worker whose profile
has no client certificate fails to start, saying so in words (the SDK alone says "invalid compression flag: 60",
which is nginx's HTML 400 read as gRPC). Certificates are X.509 v3, made with `cryptography`.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import PurchaseStage
from carbuy.devtools.processes import ManagedProcess, bin_path, free_port
from carbuy.domain.policy import PurchasePolicy
from carbuy.runtime.settings import Settings, TemporalSettings
from carbuy.runtime.temporal import TemporalConnectionError, connect, register_search_attributes
from tests.factories import purchase_input
from tests.workflows.driver import buy_until_handover, purchase_worker, start
from tests.workflows.fakes import FakePartners

pytestmark = pytest.mark.e2e

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ROOT = Path(__file__).resolve().parents[2]


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0].subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())  # X.509 v3: it has extensions


def _write(folder: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None) -> None:
    (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        (folder / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


@dataclass
class Proxy:
    """nginx in front of a dev server, and the Temporal profiles that reach it."""

    profiles: Path
    address: str


NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;
        ssl_client_certificate {dir}/ca.pem;
        ssl_verify_client on;
        location / {{ grpc_pass grpc://127.0.0.1:{upstream}; }}
    }}
}}
"""

PROFILES = """
[profile.mtls]
address = "{address}"
[profile.mtls.tls]
server_ca_cert_path = "{dir}/ca.pem"
client_cert_path = "{dir}/client.pem"
client_key_path = "{dir}/client.key"
server_name = "localhost"

[profile.nocert]
address = "{address}"
[profile.nocert.tls]
server_ca_cert_path = "{dir}/ca.pem"
server_name = "localhost"
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    if not Path(NGINX).exists():
        pytest.skip(f"{NGINX} is missing: `make test` installs it (apt-get install nginx-light)")
    folder = tmp_path_factory.mktemp("mtls")
    (folder / "tmp").mkdir()
    ca_key = _key()
    ca = _cert("carbuy test CA", ca_key, None, ca=True)
    _write(folder, "ca", ca, None)
    server_key, client_key = _key(), _key()
    _write(
        folder,
        "server",
        _cert("localhost", server_key, (ca, ca_key), usage=ExtendedKeyUsageOID.SERVER_AUTH),
        server_key,
    )
    _write(
        folder,
        "client",
        _cert("carbuy-worker", client_key, (ca, ca_key), usage=ExtendedKeyUsageOID.CLIENT_AUTH),
        client_key,
    )
    upstream, port = free_port(), free_port()
    temporal = ManagedProcess(
        "temporal",
        [
            bin_path("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
            "--port", str(upstream), "--http-port", str(free_port()), "--metrics-port", str(free_port()),
            "--log-level", "warn",
        ],
        folder / "temporal.log",
    ).start()  # fmt: skip
    (folder / "nginx.conf").write_text(NGINX_CONF.format(dir=folder, port=port, upstream=upstream))
    nginx = ManagedProcess(
        "nginx", [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"], folder / "nginx.log"
    ).start()
    try:
        temporal.wait_until_ready(port=upstream, timeout_s=60)
        nginx.wait_until_ready(port=port, timeout_s=30)
        profiles = folder / "temporal.toml"
        profiles.write_text(PROFILES.format(dir=folder, address=f"127.0.0.1:{port}"))
        yield Proxy(profiles, f"127.0.0.1:{port}")
    finally:
        nginx.stop()
        temporal.stop()


def settings_for(proxy: Proxy, profile: str) -> Settings:
    return Settings(environment="test", temporal=TemporalSettings(config_file=str(proxy.profiles), profile=profile))


async def test_a_purchase_completes_over_mtls_with_the_client_certificate(proxy: Proxy) -> None:
    client = None
    for _ in range(100):  # the frontend behind the proxy answers a moment after its port opens
        try:
            client = await connect(settings_for(proxy, "mtls"))
            await client.count_workflows()
            break
        except Exception:  # noqa: BLE001 - not healthy yet
            await asyncio.sleep(0.2)
    assert client is not None
    await register_search_attributes(client, "default")
    policy = PurchasePolicy().scaled(12 / (90 * 86_400), floor=datetime.timedelta(seconds=60))
    input = purchase_input(FinancingPlan.FULL, policy=policy)
    async with purchase_worker(client, FakePartners(client)) as queue:
        handle = await start(client, queue, input)
        await buy_until_handover(handle, input)
        result = await asyncio.wait_for(handle.result(), timeout=120)
    assert result.stage == PurchaseStage.COMPLETED


async def test_without_a_client_certificate_connecting_fails_with_a_message_a_person_understands(proxy: Proxy) -> None:
    with pytest.raises(TemporalConnectionError, match="requires a client certificate .mTLS.") as raised:
        await connect(settings_for(proxy, "nocert"))
    assert proxy.address in str(raised.value)


def test_a_worker_without_a_client_certificate_fails_to_start_saying_why(proxy: Proxy) -> None:
    env = {
        **os.environ,
        "CARBUY_ENVIRONMENT": "test",
        "CARBUY_TEMPORAL__CONFIG_FILE": str(proxy.profiles),
        "CARBUY_TEMPORAL__PROFILE": "nocert",
        "CARBUY_METRICS__WORKER_PORT": "0",
        "CARBUY_METRICS__WORKER_SDK_PORT": "0",
    }
    worker = subprocess.run(
        [sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert worker.returncode == 2, worker.stderr[-2000:]
    assert "worker not started: cannot connect to Temporal at " + proxy.address in worker.stderr
    assert "client certificate" in worker.stderr
