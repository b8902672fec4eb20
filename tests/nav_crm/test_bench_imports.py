"""The benchmarks name the product's code by import and attribute (bench/*.py are scripts, run by hand, not by
the suite): every name they take from the product must exist, so that a rename shows here, not when someone
next measures."""

import ast
import importlib
import pathlib

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"
PRODUCT = ("nav_crm", "erp", "coupling", "syncjobs", "crm_orders", "setup_wizard", "webservices", "dataverse")


def _product(module: str) -> bool:
    return module.split(".")[0] in PRODUCT


def _names_used(tree: ast.AST) -> list[tuple[str, str, int]]:
    """(module, name, line) for each name the script takes from a product module: imported from it, or read
    as an attribute of a module it imported (``jobs.job_run``)."""
    bound: dict[str, str] = {}
    used: list[tuple[str, str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and _product(node.module):
            for alias in node.names:
                used.append((node.module, alias.name, node.lineno))
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _product(alias.name):
                    target = alias.name if alias.asname else alias.name.split(".")[0]
                    bound[alias.asname or target] = target
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            used.append((bound[node.value.id], node.attr, node.lineno))
    return used


def _resolve(dotted: str):
    """A module, or an attribute of one (``from syncjobs.runs import jobs`` binds a module)."""
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError:
        module, _, name = dotted.rpartition(".")
        return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("script", sorted(BENCH.glob("*.py")), ids=lambda path: path.name)
def test_every_name_a_benchmark_takes_from_the_product_exists(script):
    missing = []
    for module, name, line in _names_used(ast.parse(script.read_text())):
        owner = _resolve(module)
        if not hasattr(owner, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ModuleNotFoundError:
                missing.append(f"{script.name}:{line} {module}.{name}")
    assert not missing, missing
