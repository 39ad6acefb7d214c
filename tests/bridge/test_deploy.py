"""docs/deploy.md and the Containerfile: what can be checked without running systemd,
Kubernetes or a container engine. The command lines they show are parsed by our own parser,
and the systemd unit by systemd's own (`systemd-analyze verify`)."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from xmcam.bridge.shard import Shard
from xmcam.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy.md"
CONTAINERFILE = ROOT / "Containerfile"


def fenced(language: str) -> list[str]:
    """The document's code blocks in `language`."""
    return re.findall(rf"^```{language}\n(.*?)^```", DEPLOY.read_text(), re.M | re.S)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", CONTAINERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    found = []
    for line in lines:
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def test_the_containerfile_installs_the_clone_and_runs_as_a_user() -> None:
    steps = instructions()
    keywords = [keyword for keyword, _ in steps]
    assert keywords[0] == "FROM"
    assert ("COPY", ". /usr/src/xmcam") in steps
    users = [rest for keyword, rest in steps if keyword == "USER"]
    assert users, "no USER: it would run as root"
    user = users[-1].partition(":")[0]
    assert user not in ("0", "root")
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")
    installs = [
        shlex.split(command)
        for keyword, rest in steps
        if keyword == "RUN"
        for command in rest.split("&&")
        if "pip install" in command
    ]
    assert installs
    for argv in installs:
        packages = [arg for arg in argv[argv.index("install") + 1 :] if not arg.startswith("-")]
        assert packages == ["/usr/src/xmcam[mqtt]"], argv  # the copied clone, never the index
    assert ("ENTRYPOINT", '["xmcam"]') in steps


def test_the_systemd_unit_runs_a_valid_bridge_command() -> None:
    [unit] = [block for block in fenced("ini") if "[Service]" in block]
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(unit)
    service = parser["Service"]
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["LimitNOFILE"]) >= 2 * 5000 + 256
    assert service["DynamicUser"] == "yes"  # not root
    argv = shlex.split(service["ExecStart"].replace("%d", "/run/credentials/xmcam-bridge"))
    assert argv[0] == "/opt/xmcam/bin/xmcam"
    args = build_parser().parse_args(argv[1:])
    assert args.inventory == "/run/credentials/xmcam-bridge/cameras.toml"
    assert args.broker == "mqtt://bridge@127.0.0.1:1883"
    assert args.connect_rate == 100.0
    assert args.shard is None
    assert service["LoadCredential"].startswith("cameras.toml:")
    assert "WantedBy" in parser["Install"]


@pytest.mark.needs_tool("systemd-analyze")
def test_systemd_takes_the_unit_as_it_is_written(tmp_path: Path) -> None:
    # systemd's own parser: every key known in its section, the command executable. The one
    # change is the binary's path: the unit's /opt/xmcam is this environment's xmcam.
    [unit] = [block for block in fenced("ini") if "[Service]" in block]
    xmcam = Path(sys.executable).with_name("xmcam")
    assert xmcam.exists()
    path = tmp_path / "xmcam-bridge.service"
    path.write_text(unit.replace("/opt/xmcam/bin/xmcam", str(xmcam)), encoding="utf-8")
    verify = ["systemd-analyze", "verify", str(path)]
    result = subprocess.run(verify, capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    # The same check sees a mistake: a key systemd does not know.
    path.write_text(unit.replace("[Install]", "BogusKey=1\n\n[Install]").replace(
        "/opt/xmcam/bin/xmcam", str(xmcam)), encoding="utf-8")  # fmt: skip
    result = subprocess.run(verify, capture_output=True, text=True, timeout=60, check=False)
    assert "Unknown key 'BogusKey'" in result.stderr


def test_the_statefulset_gives_each_pod_its_shard() -> None:
    [manifest] = [block for block in fenced("yaml") if "kind: StatefulSet" in block]
    replicas = int(re.search(r"^\s+replicas: (\d+)$", manifest, re.M).group(1))  # type: ignore[union-attr]
    [line] = [line for line in manifest.splitlines() if line.strip().startswith("args: [")]
    template = json.loads(line.partition("args:")[2])  # a flow sequence: JSON
    assert "metadata.labels['apps.kubernetes.io/pod-index']" in manifest
    assert "runAsNonRoot: true" in manifest
    shards = set()
    for ordinal in range(replicas):
        argv = [arg.replace("$(POD_INDEX)", str(ordinal)) for arg in template]
        args = build_parser().parse_args(argv)
        assert args.inventory == "/etc/xmcam/cameras.toml"
        shards.add(args.shard)
    assert shards == {Shard(k, replicas) for k in range(replicas)}


@pytest.mark.parametrize("value", ["3/3", "1", "x/3", "0/0"])
def test_a_bad_shard_is_a_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_code:
        build_parser().parse_args(["bridge", "mqtt", "--broker", "mqtt://x", "--shard", value])
    assert exit_code.value.code == 2
    assert "--shard" in capsys.readouterr().err
