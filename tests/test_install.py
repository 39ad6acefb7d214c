"""What a newcomer installs and reads: a plain install does every job in the README, every
install hint works where the user is, `.ci/run` says what it installs and cleans up, and the
repository cites only its own files."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from xmcam.bridge import INSTALL_HINT as MQTT_INSTALL_HINT
from xmcam.media.writer import INSTALL_HINT

ROOT = Path(__file__).parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]

_PROBE = """
import sys
import xmcam
print(" ".join(sorted(name for name in ("av", "aiomqtt", "cryptography") if name in sys.modules)))
"""


def _requirement_names(requirements: list[str]) -> set[str]:
    return {requirement.partition(">")[0].partition("=")[0].strip() for requirement in requirements}


def test_a_plain_install_brings_pyav_and_the_mqtt_client() -> None:
    assert {"av", "aiomqtt", "cryptography"} <= _requirement_names(PROJECT["dependencies"])
    # The old extras stay, empty, so that `pip install '.[media]'` still works.
    assert PROJECT["optional-dependencies"]["media"] == []
    assert PROJECT["optional-dependencies"]["mqtt"] == []


def test_importing_xmcam_still_loads_none_of_them() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""


@pytest.mark.parametrize(
    ("hint", "package"), [(INSTALL_HINT, "av"), (MQTT_INSTALL_HINT, "aiomqtt")]
)
def test_each_hint_installs_the_package_itself_with_the_running_interpreter(
    hint: str, package: str
) -> None:
    # xmcam is not on the package index: a hint naming `xmcam[...]` fails for everyone.
    assert shlex.split(hint) == [sys.executable, "-m", "pip", "install", package]
    assert package in _requirement_names(PROJECT["dependencies"])


def _repository_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    return [ROOT / name for name in listed if name and (ROOT / name).is_file()]


def test_no_file_names_a_package_index_hint_or_a_file_outside_the_repository() -> None:
    # Spelled in pieces, so that this file does not find itself.
    banned = ("PROTOCOL" + ".md", "../" + "shared", "install 'xmcam" + "[", 'install "xmcam' + "[")
    found = []
    for path in _repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # clips, images
        found += [f"{path.relative_to(ROOT)}: {word}" for word in banned if word in text]
    assert found == []


# ------------------------------------------------------------------------ .ci/run


def _fake(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture
def ci_bin(tmp_path: Path) -> Path:
    """A PATH for `.ci/run` with the real basic tools, no ffmpeg, a `python3` whose virtual
    environment fails at its first pip command, and an apt-get (behind sudo) that only says
    what it was asked."""
    directory = tmp_path / "bin"
    directory.mkdir()
    for tool in ("dirname", "mktemp", "id", "rm", "mkdir", "chmod"):
        real = shutil.which(tool)
        assert real is not None, tool
        (directory / tool).symlink_to(real)
    _fake(directory, "sudo", 'exec "$@"\n')
    _fake(directory, "apt-get", 'echo "apt-get $*"\n')
    _fake(directory, "mosquitto", "exit 0\n")
    _fake(
        directory,
        "python3",
        # `python3 -m venv DIR`: a venv whose python fails, as a pip without network would.
        'mkdir -p "$3/bin"\n'
        'printf \'PATH="%s/bin:$PATH"\\n\' "$3" > "$3/bin/activate"\n'
        "printf '#!/bin/sh\\nexit 3\\n' > \"$3/bin/python\"\n"
        'chmod +x "$3/bin/python"\n',
    )
    return directory


def test_ci_says_what_it_installs_and_removes_its_virtual_environment(
    ci_bin: Path, tmp_path: Path
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run(
        [bash, str(ROOT / ".ci" / "run")],
        env={"PATH": str(ci_bin), "TMPDIR": str(temporary), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr  # the fake pip's failure, passed on
    lines = result.stdout.splitlines()
    announced = next(index for index, line in enumerate(lines) if "installing" in line)
    assert "ffmpeg" in lines[announced]
    assert lines[announced + 1] == "apt-get update -qq"  # said before it happens
    venv_line = next(line for line in lines if "virtual environment" in line)
    assert str(temporary) in venv_line
    assert list(temporary.iterdir()) == []  # removed, though the run failed


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    script = (ROOT / ".ci" / "run").read_text("utf-8")
    assert "bash .ci/run" in readme
    assert "python -m pytest -n 4 --dist worksteal --cov=xmcam --cov-branch" in script
    assert "python -m pip install --quiet -e '.[dev]'" in script
