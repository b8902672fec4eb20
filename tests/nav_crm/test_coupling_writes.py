"""Every write of a coupling row goes through coupling/services.py (issue 14): no other module of the product
creates, updates, saves or deletes a Coupling or OptionCoupling row itself. Read from the code's syntax tree:
a query rooted at ``Coupling.objects`` (or ``OptionCoupling``) that ends in a write, or ``save()`` / ``delete()``
called on a variable named for a coupling."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PRODUCT = ("nav_crm", "erp", "coupling", "syncjobs", "crm_orders", "setup_wizard", "webservices")
THE_SERVICES = ROOT / "coupling" / "services.py"
MODELS = {"Coupling", "OptionCoupling"}
WRITES = {"create", "bulk_create", "bulk_update", "update_or_create", "get_or_create", "update", "delete", "save"}


def _query_root(node: ast.AST) -> str | None:
    """The model a chain of calls starts from (``Coupling.objects.filter(…).update`` → Coupling)."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.attr in ("objects", "_default_manager"):
                return node.value.id
            node = node.value
        else:
            return None


def coupling_writes(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES):
            continue
        target = node.func.value
        if (
            _query_root(target) in MODELS
            or isinstance(target, ast.Name)
            and "coupling" in target.id.lower()
            and node.func.attr in ("save", "delete")
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_coupling_services_write_coupling_rows():
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == THE_SERVICES or "migrations" in path.parts:
                continue
            found += [f"{path.relative_to(ROOT)}:{line}" for line in coupling_writes(path.read_text())]
    assert found == []


def test_the_check_finds_a_write_outside_the_services():
    source = (
        "Coupling.objects.filter(pk=1).update(skipped=False)\n"
        "OptionCoupling.objects.create(option_value=1)\n"
        "coupling.save(update_fields=['snapshot'])\n"
        "Coupling.objects.filter(pk=1).first()\n"  # a read
        "record.save()\n"
    )
    assert coupling_writes(source) == [1, 2, 3]
