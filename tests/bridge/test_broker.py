"""The broker URL: parsed, and its password shown nowhere."""

from __future__ import annotations

import pytest

from xmcam.bridge.broker import BrokerAddress, parse_broker_url


def test_urls_are_read() -> None:
    assert parse_broker_url("mqtt://broker.lan") == BrokerAddress("broker.lan", 1883)
    assert parse_broker_url("mqtt://127.0.0.1:1884/") == BrokerAddress("127.0.0.1", 1884)
    assert parse_broker_url("mqtt://[::1]:1885") == BrokerAddress("::1", 1885)
    address = parse_broker_url("mqtt://me:p%40ss:word@broker.lan:1883")
    assert (address.username, address.password) == ("me", "p@ss:word")


def test_the_password_may_come_from_the_environment() -> None:
    environment = {"XMCAM_MQTT_PASSWORD": "hunter2"}
    assert parse_broker_url("mqtt://me@h", environment=environment).password == "hunter2"
    assert parse_broker_url("mqtt://me:given@h", environment=environment).password == "given"
    assert parse_broker_url("mqtt://h", environment=environment).password is None  # no user
    assert parse_broker_url("mqtt://me@h", environment={}).password is None


def test_the_password_shows_nowhere() -> None:
    address = parse_broker_url("mqtt://me:hunter2@broker.lan:1883")
    assert "hunter2" not in repr(address)
    assert address.display == "mqtt://me@broker.lan:1883"
    assert parse_broker_url("mqtt://[::1]").display == "mqtt://[::1]:1883"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("broker.lan", "mqtt://"),
        ("mqtts://me:hunter2@broker.lan", "mqtt://"),
        ("mqtt://me:hunter2@", "no host"),
        ("mqtt://me:hunter2@h:0", "bad port"),
        ("mqtt://me:hunter2@h:70000", "bad port"),
        ("mqtt://me:hunter2@h:x", "bad port"),
        ("mqtt://me:hunter2@h/topic", "nothing after"),
        ("mqtt://me:hunter2@h?x=1", "nothing after"),
    ],
)
def test_bad_urls_are_refused_without_the_password(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        parse_broker_url(url)
    assert "hunter2" not in str(refused.value)
