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
