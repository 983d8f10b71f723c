"""Imports point down the layers of docs/ARCHITECTURE.md; nothing imports upward.

Every import of a module of the package is read with ``ast`` (inside functions too, not
under ``if TYPE_CHECKING:``) and checked against the layer table. The one documented
exception: ``simulation`` asks ``crm.scoring`` for lead scores when a scenario names a
trained model.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "funnelsim"

#: bottom first; a module may import its own layer and the layers below it
LAYERS = (
    ("foundations", {"scenario", "calendar", "rng", "stats", "units", "vocabulary", "errors", "limits", "safe_io",
                     "safe_yaml", "atomic", "_version"}),
    ("model", {"model"}),
    ("running", {"simulation"}),
    ("KPIs", {"metrics"}),
    ("experiments", {"experiments"}),
    ("CRM", {"crm"}),
    ("presentation", {"present"}),
    ("command line", {"cli", "commands", "__main__", "__init__"}),
)
RANK = {name: rank for rank, (_, names) in enumerate(LAYERS) for name in names}
ALLOWED_UPWARD = {("simulation", "crm.scoring")}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path) -> list[str]:
    """Package-relative names of the package's modules that `path` imports."""
    relative = path.relative_to(PACKAGE).with_suffix("")
    here = list(relative.parts[:-1])
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                if node.module:
                    found.append(".".join([*base, node.module]))
                else:
                    found.extend(".".join([*base, alias.name]) for alias in node.names)
            elif node.module and (node.module == "funnelsim" or node.module.startswith("funnelsim.")):
                found.append(node.module.removeprefix("funnelsim").lstrip(".") or "__init__")
        elif isinstance(node, ast.Import):
            found.extend(a.name.removeprefix("funnelsim.") for a in node.names if a.name.startswith("funnelsim."))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return [name for name in found if name]


def test_every_top_level_module_has_a_layer():
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.rglob("*.py")}
    assert tops - set(RANK) == set(), "a new module: give it a layer here and in docs/ARCHITECTURE.md"


def test_nothing_imports_upward():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        mine = RANK[me.split(".")[0]]
        for target in _imports(path):
            top = target.split(".")[0]
            if top in RANK and RANK[top] > mine and (me, target) not in ALLOWED_UPWARD:
                upward.append(f"{me} ({LAYERS[mine][0]}) imports {target} ({LAYERS[RANK[top]][0]})")
    assert not upward, "imports pointing up the layers:\n" + "\n".join(upward)
