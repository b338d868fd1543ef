"""No module of kpitrack, budget or performance imports, however indirectly, a module that
imports it back. A circle works only while its imports happen to run in the right order (one
of them is put inside a function to make it run): the layers say which side should give way.

Function-level imports count too: grimp reads every import statement of a module."""

import grimp

PACKAGES = ("kpitrack", "budget", "performance")


def _circles(graph) -> list[tuple[str, str]]:
    """Each direct import `a -> b` whose `b` leads back to `a`."""
    found = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if graph.chain_exists(importer=imported, imported=module):
                found.append((module, imported))
    return found


def test_no_module_imports_one_that_imports_it_back():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    circles = _circles(graph)
    assert not circles, [
        " -> ".join([a, *graph.find_shortest_chain(importer=b, imported=a)]) for a, b in circles
    ]
