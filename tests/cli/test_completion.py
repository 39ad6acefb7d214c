"""`xmcam completion`: scripts made by shtab from the parser, for bash, zsh and fish."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import Run
from xmcam.cli import ExitCode, build_parser

COMMANDS = sorted(build_parser().subcommands.choices)  # type: ignore[attr-defined]


def test_bash_sources_the_script_and_completes_commands(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("completion", "bash")
    assert result.code == ExitCode.SUCCESS
    script = tmp_path / "xmcam.bash"
    script.write_text(result.out, encoding="utf-8")
    # Source it in a real bash and ask for the words after `xmcam ` (as Tab would).
    probe = (
        f"source {script}\n"
        "COMP_WORDS=(xmcam ''); COMP_CWORD=1; COMP_LINE='xmcam '; COMP_POINT=6\n"
        "_shtab_xmcam xmcam '' xmcam\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run(
        [bash, "--norc", "-c", probe], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    offered = set(done.stdout.split())
    assert {"info", "config", "fleet", "completion"} <= offered


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_command(run_cli: Run, shell: str) -> None:
    result = run_cli("completion", shell)
    assert result.code == ExitCode.SUCCESS
    for command in COMMANDS:
        assert command in result.out, (shell, command)
    # zsh and fish are not installed everywhere: where they are, their parser checks the script.
    program = shutil.which(shell)
    if program is not None:
        check = [program, "-n"] if shell == "zsh" else [program, "--no-execute"]
        done = subprocess.run(
            [*check], input=result.out, capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, done.stderr


def test_the_hidden_alias_is_not_offered(run_cli: Run) -> None:
    # fleet's `time check` is still taken, as `time get`, but never suggested.
    for shell in ("bash", "zsh", "fish"):
        script = run_cli("completion", shell).out
        assert "check|sync" not in script
        assert "'check'" not in script
        assert "get" in script


def test_an_unknown_shell_is_a_usage_error(run_cli: Run) -> None:
    with pytest.raises(SystemExit) as caught:
        run_cli("completion", "csh")
    assert caught.value.code == ExitCode.USAGE
