"""The simulator's modules import each other one way: no cycles, no imports hidden in functions."""

import ast
import os

FBSD = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fbsd')


def imports_of(path):
    """(module-level fbsd imports, fbsd imports inside functions) of one file."""
    tree = ast.parse(open(path).read(), path)
    top, hidden = set(), []

    def named(node):
        if isinstance(node, ast.ImportFrom) and node.module == 'fbsd':
            return [alias.name for alias in node.names]
        if isinstance(node, ast.ImportFrom) and (node.module or '').startswith('fbsd.'):
            return [node.module.split('.', 1)[1]]
        if isinstance(node, ast.Import):
            return [a.name.split('.', 1)[1] for a in node.names if a.name.startswith('fbsd.')]
        return []
    for node in tree.body:
        top.update(named(node))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                hidden.extend(named(inner))
    return top, hidden


def test_no_module_imports_another_inside_a_function():
    hidden = {}
    for name in sorted(os.listdir(FBSD)):
        if name.endswith('.py'):
            found = imports_of(os.path.join(FBSD, name))[1]
            if found:
                hidden[name] = found
    assert hidden == {}


def test_the_import_graph_has_no_cycle():
    graph = {}
    for name in os.listdir(FBSD):
        if name.endswith('.py') and name != '__init__.py':
            graph[name[:-3]] = imports_of(os.path.join(FBSD, name))[0]
    done, visiting = set(), []

    def visit(module):
        if module in done or module not in graph:
            return
        assert module not in visiting, 'import cycle: %s' % ' -> '.join(visiting[visiting.index(module):] + [module])
        visiting.append(module)
        for other in sorted(graph[module]):
            visit(other)
        visiting.pop()
        done.add(module)
    for module in sorted(graph):
        visit(module)


def test_every_function_the_registry_names_exists():
    """The registry is the one table of commands, kernel files, reboot and rc steps and rc.d scripts."""
    import sys
    sys.path.insert(0, os.path.dirname(FBSD))
    from fbsd import registry
    named = []
    for subsystem in registry.SUBSYSTEMS:
        named += [(subsystem.module, name) for name in subsystem.commands.values()]
        named += [(subsystem.module, name) for name in subsystem.rc.values()]
        named += [(subsystem.module, name) for name, unused in subsystem.scripts.values()]
        named += [(subsystem.module, name) for name in (subsystem.power_off, subsystem.shutdown) if name]
    assert named and all(callable(registry.function(module, name)) for module, name in named)
    assert [step for step, unused in registry.rc_steps()] == list(registry.RC_ORDER)
    assert len(registry.commands()) == sum(len(s.commands) for s in registry.SUBSYSTEMS)     # no path twice
    assert registry.handler('jls') is registry.function('jail', 'jls_main')
