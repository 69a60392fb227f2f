"""The layering of docs/architecture.md holds: every import inside ``shendu`` goes to the same or a
lower layer, the core (layers 1-2) has no import circle, and the Tensor methods that ops attach
are exactly the ones ``tensor.py`` declares.

The table in docs/architecture.md is read here, so the document and the code cannot drift apart.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import shendu
from shendu.ops.tensor_methods import METHODS, PROPERTIES

SRC = Path(shendu.__file__).parent
DOC = SRC.parents[1] / "docs" / "architecture.md"


def _layers() -> dict[str, int]:
    """``{"shendu.tensor": 1, "shendu.ops": 2, ...}`` from the table of docs/architecture.md."""
    layers = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*(\d+)\s*\|([^|]*)\|", line)
        if m:
            for pkg in re.findall(r"`(shendu[\w.]*)`", m.group(2)):
                layers[pkg] = int(m.group(1))
    return layers


def _layer_of(module: str, layers: dict[str, int]) -> int | None:
    best = None
    for pkg, n in layers.items():
        if (module == pkg or module.startswith(pkg + ".")) and (best is None or len(pkg) > len(best[0])):
            best = (pkg, n)
    return None if best is None else best[1]


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(tree: ast.AST, package: str) -> set[str]:
    """Every ``shendu.*`` module imported at run time, at module level or inside functions
    (``if TYPE_CHECKING:`` blocks run only under type checkers and are left out)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("shendu"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base])
            if base.startswith("shendu"):
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    found.add(
                        sub
                        if (SRC.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                        or (SRC.parent / sub.replace(".", "/")).is_dir()
                        else base
                    )
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in SRC.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = _imports(ast.parse(path.read_text(encoding="utf-8")), package)
    return graph


def test_every_module_has_a_layer_in_the_doc():
    layers = _layers()
    assert layers, f"no layer table found in {DOC}"
    missing = [m for m in _graph() if m != "shendu" and _layer_of(m, layers) is None]
    assert not missing, f"modules without a layer in docs/architecture.md: {missing}"


def test_imports_go_only_downward():
    layers = _layers()
    upward = []
    for module, imported in _graph().items():
        if module == "shendu":  # the package's __init__ gathers the public API of every layer
            continue
        own = _layer_of(module, layers)
        for target in imported:
            if target == "shendu":
                continue
            theirs = _layer_of(target, layers)
            if own is not None and theirs is not None and theirs > own:
                upward.append(f"{module} (layer {own}) imports {target} (layer {theirs})")
    assert not upward, "imports that go up a layer:\n" + "\n".join(sorted(upward))


def test_the_core_has_no_import_circle():
    """Layers 1-2 (tensor, autograd, random, ops), function-level imports included."""
    layers = _layers()
    graph = _graph()
    core = {m for m in graph if m != "shendu" and (_layer_of(m, layers) or 99) <= 2}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def circle_from(start: str) -> list[str] | None:
        stack = [(start, iter(sorted(graph[start] & core)))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child) :] + [child]
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child] & core))))
        return None

    for m in sorted(core):
        if m not in state:
            circle = circle_from(m)
            assert circle is None, "import circle in the core: " + " -> ".join(circle)


def _declared_tensor_methods() -> set[str]:
    """Names in the ``if TYPE_CHECKING:`` block of ``class Tensor`` in tensor.py."""
    tree = ast.parse((SRC / "tensor.py").read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor")
    names = set()
    for node in cls.body:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    names.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.add(item.target.id)
    return names


def test_attached_methods_are_the_declared_ones():
    attached = set(METHODS) | set(PROPERTIES)
    declared = _declared_tensor_methods()
    assert attached - declared == set(), "attached by ops but not declared in tensor.py"
    assert declared - attached == set(), "declared in tensor.py but not attached by ops"
    for name in attached:
        assert name in vars(shendu.Tensor), name


def test_function_apply_accepts_none_inputs():
    """An optional input (bias None) reaches forward as None and gets no gradient."""
    from shendu.autograd import Function

    class AddOptional(Function):
        def forward(self, x, b):
            return x if b is None else x + b

        def backward(self, gy):
            return gy, gy

    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    b = shendu.tensor([0.5, 0.5], requires_grad=True)
    y = AddOptional.apply(x, None)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    assert y.grad_fn.needs_grad == (True, False)
    y2 = AddOptional.apply(x, b)
    y2.sum().backward()
    assert b.grad.tolist() == [1.0, 1.0] and x.grad.tolist() == [2.0, 2.0]
