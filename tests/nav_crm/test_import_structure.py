"""The import rule of docs/architecture.md, checked on the import graph (grimp, which also sees imports inside
functions): no cycles between the product's modules, and the engine does not import the job lifecycle."""

import grimp
import pytest

PRODUCT = ("nav_crm", "erp", "coupling", "syncjobs", "crm_orders", "setup_wizard", "webservices", "dataverse")


@pytest.fixture(scope="module")
def graph():
    # Imports only a type checker reads (``if TYPE_CHECKING:``) are not run: they make no cycle.
    return grimp.build_graph(*PRODUCT, exclude_type_checking_imports=True)


def _cycles(graph) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan's algorithm, iteratively)."""
    modules = {m for m in graph.modules if ".migrations" not in m}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root) & modules)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            following = next(imported, None)
            if following is not None:
                if following not in index:
                    index[following] = low[following] = len(index)
                    stack.append(following)
                    on_stack.add(following)
                    work.append((following, iter(sorted(graph.find_modules_directly_imported_by(following) & modules))))
                elif following in on_stack:
                    low[module] = min(low[module], index[following])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_the_product_has_no_import_cycle(graph):
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle(graph):
    """The check above can fail: a graph with one cycle added has it."""
    graph.add_import(importer="erp.models", imported="syncjobs.engine.run")
    assert any("erp.models" in group and "syncjobs.engine.run" in group for group in _cycles(graph))
    graph.remove_import(importer="erp.models", imported="syncjobs.engine.run")


def test_the_engine_reports_through_an_object_and_does_not_import_the_job_lifecycle(graph):
    importers = graph.find_modules_that_directly_import("syncjobs.runs.jobs")
    assert not {m for m in importers if m.startswith("syncjobs.engine")}
    assert not graph.chain_exists(importer="syncjobs.engine", imported="syncjobs.runs.jobs", as_packages=True)


def test_the_erp_and_the_client_import_nothing_of_the_integration(graph):
    for importer, imported in [
        ("erp", "syncjobs"),
        ("erp", "coupling"),
        ("erp", "crm_orders"),
        ("dataverse", "nav_crm"),
        ("dataverse", "syncjobs"),
        ("coupling.services", "syncjobs"),
        ("coupling.selectors", "syncjobs"),
    ]:
        assert not graph.chain_exists(importer=importer, imported=imported, as_packages=True), (importer, imported)
