"""`bot/` is the core: it must never import a platform, database or web library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

FORBIDDEN = (
    "slack_bolt",
    "slack_sdk",
    "discord",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "aiohttp",
    "jinja2",
)
FORBIDDEN_LOCAL = ("adapters", "storage", "payforward")
CORE = Path(__file__).resolve().parents[2] / "bot"


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_core_module_imports_a_platform_or_database_library() -> None:
    offenders = {
        str(path.relative_to(CORE.parent)): sorted(
            imported_roots(path) & {*FORBIDDEN, *FORBIDDEN_LOCAL}
        )
        for path in CORE.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) > 10  # the scan really read the core


def test_importing_the_whole_core_loads_none_of_them() -> None:
    modules = sorted(f"bot.{p.stem}" for p in CORE.glob("*.py") if p.stem != "__init__")
    script = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {(*FORBIDDEN, *FORBIDDEN_LOCAL)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
