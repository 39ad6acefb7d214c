"""The layers of the package, checked on the source: a lower layer never imports a higher one.

The sans-I/O core (`protocol`, with the exception tree it shares) sits at the bottom and imports
nothing outside the standard library; `media` and `client` build on it; the shells (`aio`, `sync`,
`sim`) move bytes for those; `fleet`, `bridge`, `cli` and `testing` sit on top. The test reads
every module's imports with `ast`, so it also sees imports that only run under TYPE_CHECKING or
inside a function.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "src" / "xmcam"

# What each part of the package may import from the rest of it.
ALLOWED: dict[str, frozenset[str]] = {
    "protocol": frozenset({"errors"}),
    "errors": frozenset({"protocol"}),
    "media": frozenset({"errors"}),
    "client": frozenset({"protocol", "errors", "media"}),
    "aio": frozenset({"protocol", "errors", "media", "client"}),
    "sync": frozenset({"protocol", "errors", "media", "client"}),
    "sim": frozenset({"protocol", "errors", "media"}),
    "fleet": frozenset({"protocol", "errors", "client", "aio"}),
}
# The top of the stack may import anything below it.
TOP = frozenset({"__init__", "__main__", "bridge", "cli", "testing"})


def _part_of(module_path: Path) -> str:
    relative = module_path.relative_to(PACKAGE_ROOT)
    return relative.parts[0].removesuffix(".py") if len(relative.parts) else "__init__"


def _imported_modules(module_path: Path) -> list[tuple[int, str]]:
    """Every absolute module name the file imports, with the line it is imported on."""
    tree = ast.parse(module_path.read_text(encoding="utf-8"), filename=str(module_path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module_path}:{node.lineno}: relative import"
            assert node.module is not None
            if node.module == "xmcam":
                found.extend((node.lineno, f"xmcam.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, node.module))
    return found


def _modules() -> list[Path]:
    return sorted(PACKAGE_ROOT.rglob("*.py"))


def _xmcam_part(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


@pytest.mark.parametrize("module_path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE_ROOT)))
def test_a_module_imports_only_from_its_own_layer_or_below(module_path: Path) -> None:
    part = _part_of(module_path)
    if part in TOP:
        return
    assert part in ALLOWED, f"{part} has no layer: add it to ALLOWED"
    wrong = [
        f"line {line}: {name}"
        for line, name in _imported_modules(module_path)
        if name.startswith("xmcam")
        and _xmcam_part(name) != part
        and _xmcam_part(name) not in ALLOWED[part]
    ]
    assert not wrong, f"{module_path.relative_to(PACKAGE_ROOT)} reaches up: {wrong}"


# The one exception to "standard library only": the encrypted FunSDK session's AES and RSA
# come from `cryptography`, imported inside functions of protocol/crypto.py the first time a
# session needs them (tests/test_import.py checks that `import xmcam` does not load it).
OUTSIDE_THE_STANDARD_LIBRARY: dict[str, frozenset[str]] = {"crypto.py": frozenset({"cryptography"})}


@pytest.mark.parametrize(
    "module_path",
    sorted((PACKAGE_ROOT / "protocol").rglob("*.py")),
    ids=lambda p: p.name,
)
def test_the_core_imports_only_the_standard_library(module_path: Path) -> None:
    allowed = OUTSIDE_THE_STANDARD_LIBRARY.get(module_path.name, frozenset())
    outside = [
        f"line {line}: {name}"
        for line, name in _imported_modules(module_path)
        if not name.startswith("xmcam")
        and name.split(".")[0] not in sys.stdlib_module_names
        and name.split(".")[0] not in allowed
        and name != "__future__"
    ]
    assert not outside, f"protocol/{module_path.name} imports {outside}"


def test_cryptography_is_imported_only_inside_functions_of_the_crypto_module() -> None:
    tree = ast.parse((PACKAGE_ROOT / "protocol" / "crypto.py").read_text(encoding="utf-8"))
    top_level = [
        node
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(
            (alias.name if isinstance(node, ast.Import) else node.module or "").startswith(
                "cryptography"
            )
            for alias in node.names
        )
    ]
    assert top_level == []


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    source = tmp_path / "bad.py"
    source.write_text("from xmcam.aio import camera\nimport json\n", encoding="utf-8")
    assert [name for _, name in _imported_modules(source)] == ["xmcam.aio", "json"]
    assert "aio" not in ALLOWED["client"]
