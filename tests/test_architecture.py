"""The package's layout rules, read from the imports of every module.

- The ground floor (``innopanel.io``, ``innopanel.vocabulary``, ``innopanel.runlog``)
  imports nothing from innopanel.
- ``innopanel.config`` imports only the ground floor and itself.
- The four pipeline wings (data, econometrics, exhibits, reproducibility) import only
  the ground floor, config and themselves: they talk through files, never imports.
- The synthetic wing may use the others; nothing in the pipeline (package, rules,
  scripts) imports it.
- No module imports itself back through any chain, whether at the top or in a function.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workflow" / "innopanel"
GROUND_FLOOR = {"innopanel", "innopanel.io", "innopanel.vocabulary", "innopanel.runlog"}
PIPELINE_WINGS = ("data", "econometrics", "exhibits", "reproducibility")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str) -> set[str]:
    """Every innopanel module a source imports, at any depth of the code."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("innopanel")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("innopanel"):
            # `from innopanel.config import specs` imports innopanel.config.specs.
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(
                    ".py"
                ).exists() or (PACKAGE.parent / Path(*candidate.split("."))).is_dir()
                found.add(candidate if is_module else node.module)
    return found


def package_imports() -> dict[str, set[str]]:
    return {
        module_name(path): imported_modules(path.read_text(encoding="utf-8"))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def wing(module: str) -> str:
    """The wing a module belongs to: 'config', a wing's name, or 'ground'."""
    if module in GROUND_FLOOR:
        return "ground"
    return module.split(".")[1]


def allowed(importer: str, imported: str) -> bool:
    source, target = wing(importer), wing(imported)
    if target == "ground" or source == target:
        return True
    if source == "ground":
        return False
    if source == "config":
        return False
    if source in PIPELINE_WINGS:
        return target == "config"
    return source == "synthetic"


def test_every_module_belongs_to_a_known_wing() -> None:
    wings = {wing(module) for module in package_imports()}
    assert wings == {"ground", "config", *PIPELINE_WINGS, "synthetic"}


def test_wings_import_only_the_ground_floor_config_and_themselves() -> None:
    breaches = [
        f"{importer} imports {imported}"
        for importer, imports in package_imports().items()
        for imported in sorted(imports)
        if not allowed(importer, imported)
    ]
    assert not breaches, "layout rule broken:\n" + "\n".join(breaches)


def test_the_pipeline_never_imports_the_synthetic_wing() -> None:
    shell = [
        *(ROOT / "workflow" / "scripts").glob("*.py"),
        *(ROOT / "workflow" / "rules").glob("*.smk"),
        ROOT / "Snakefile",
    ]
    users = []
    for path in shell:
        text = path.read_text(encoding="utf-8")
        try:
            imports = imported_modules(text)
        except SyntaxError:  # .smk files are not Python; read their import lines
            imports = imported_modules(
                "\n".join(
                    line for line in text.splitlines() if line.startswith(("import ", "from "))
                )
            )
        users += [
            f"{path.relative_to(ROOT)} imports {m}" for m in imports if wing(m) == "synthetic"
        ]
    assert not users, "\n".join(users)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_circle_anywhere() -> None:
    graph = {
        importer: {m for m in imports if m != importer and m != "innopanel"}
        for importer, imports in package_imports().items()
    }
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("graph", "has_cycle"),
    [({"a": {"b"}, "b": {"a"}}, True), ({"a": {"b"}, "b": {"c"}, "c": set()}, False)],
)
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]], has_cycle: bool) -> None:
    assert (find_cycle(graph) is not None) is has_cycle


def test_a_breach_is_reported() -> None:
    assert not allowed("innopanel.exhibits.figures", "innopanel.econometrics.models")
    assert not allowed("innopanel.config.checks", "innopanel.data.fetch")
    assert allowed("innopanel.synthetic.demo", "innopanel.data.clean")
    assert allowed("innopanel.data.fetch", "innopanel.config.sources")


def test_the_docs_layout_names_every_module_once() -> None:
    layout = (ROOT / "docs" / "layout.md").read_text(encoding="utf-8")
    layout = layout[: layout.index("```", layout.index("```") + 3)]
    listed = re.findall(r"^ {2,}(\w+\.py)\s", layout, flags=re.M)
    modules = sorted(p.name for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")
    assert sorted(listed) == modules, "docs/layout.md and the package differ"
