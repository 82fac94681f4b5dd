"""The Temporal connection comes from an environment-configuration profile; production refuses an open one."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from temporalio.service import TLSConfig

from carbuy.runtime.codec import new_key
from carbuy.runtime.settings import CodecSettings, Settings, TemporalSettings
from carbuy.runtime.temporal import TemporalConnectionError, connect_config, connection_problems
from tests.unit.test_codec import production_secrets

PROFILES = """
[profile.mtls]
address = "temporal.internal:7233"
namespace = "carbuy-prod"
[profile.mtls.tls]
server_ca_cert_path = "{dir}/ca.pem"
client_cert_path = "{dir}/client.pem"
client_key_path = "{dir}/client.key"
server_name = "temporal.internal"
[profile.mtls.codec]
endpoint = "https://codec.internal"
auth = "Bearer ops-token"

[profile.cloud]
address = "carbuy.a1b2c.tmprl.cloud:7233"
namespace = "carbuy.a1b2c"
api_key = "cloud-api-key"

[profile.open]
address = "temporal.internal:7233"
"""


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, text in {"ca.pem": "CA", "client.pem": "CERT", "client.key": "KEY"}.items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "temporal.toml"
    path.write_text(PROFILES.format(dir=tmp_path))
    for variable in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_PROFILE", "TEMPORAL_TLS"):
        monkeypatch.delenv(variable, raising=False)
    return path


def test_an_mtls_profile_gives_address_namespace_ca_client_certificate_and_server_name(profiles: Path) -> None:
    config = connect_config(TemporalSettings(config_file=str(profiles), profile="mtls"))
    assert config["target_host"] == "temporal.internal:7233"
    assert config["namespace"] == "carbuy-prod"
    tls = config["tls"]
    assert isinstance(tls, TLSConfig)
    assert (tls.server_root_ca_cert, tls.client_cert, tls.client_private_key) == (b"CA", b"CERT", b"KEY")
    assert tls.domain == "temporal.internal"


def test_an_api_key_profile_turns_tls_on(profiles: Path) -> None:
    config = connect_config(TemporalSettings(config_file=str(profiles), profile="cloud"))
    assert (config["api_key"], config["tls"]) == ("cloud-api-key", True)


def test_temporal_variables_override_the_file_as_for_the_cli(profiles: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "carbuy-staging")
    config = connect_config(TemporalSettings(config_file=str(profiles), profile="cloud"))
    assert config["namespace"] == "carbuy-staging"


def test_a_carbuy_setting_given_explicitly_overrides_the_profile_and_defaults_fill_the_rest(profiles: Path) -> None:
    explicit = connect_config(TemporalSettings(config_file=str(profiles), profile="open", address="127.0.0.1:7999"))
    assert (explicit["target_host"], explicit["namespace"]) == ("127.0.0.1:7999", "default")


def test_an_unknown_profile_is_a_clear_error(profiles: Path) -> None:
    with pytest.raises(TemporalConnectionError, match="cannot load the Temporal profile from .*'nosuch' not found"):
        connect_config(TemporalSettings(config_file=str(profiles), profile="nosuch"))


def test_production_needs_tls_and_a_credential(profiles: Path) -> None:
    assert connection_problems(TemporalSettings(config_file=str(profiles), profile="mtls")) == []
    assert connection_problems(TemporalSettings(config_file=str(profiles), profile="cloud")) == []
    problems = connection_problems(TemporalSettings(config_file=str(profiles), profile="open"))
    assert [p.split(":")[0] for p in problems] == [
        "the connection to temporal.internal",
        "the connection carries no credential",
    ]
    key = new_key()
    codec = CodecSettings(keys={"2026-12": SecretStr(key)}, current_key="2026-12")
    with pytest.raises(ValidationError, match="the Temporal connection is not secured in production: .* has no TLS"):
        Settings(
            environment="production",
            codec=codec,
            temporal=TemporalSettings(config_file=str(profiles), profile="open"),
            **production_secrets(),
        )
    secured = Settings(
        environment="production",
        codec=codec,
        temporal=TemporalSettings(config_file=str(profiles), profile="mtls"),
        **production_secrets(),
    )
    assert secured.temporal.profile == "mtls"
