"""The package's surface: the stubs match the module, every public name is documented."""

import ast
import inspect
import pathlib

import noisesched

STUB = pathlib.Path(noisesched.__file__).with_name("__init__.pyi")


def stub_definitions():
    tree = ast.parse(STUB.read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = node
        elif isinstance(node, ast.ClassDef):
            out[node.name] = node
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    out[f"{node.name}.{item.name}"] = item
    return out


def parameters(node):
    args = node.args
    return [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]


def test_every_public_name_has_a_stub_with_the_same_parameters():
    stubs = stub_definitions()
    assert set(noisesched.__all__) <= set(stubs), set(noisesched.__all__) - set(stubs)
    checked = 0
    for name, node in stubs.items():
        owner, _, attr = name.partition(".")
        obj = getattr(noisesched, owner)
        if attr:
            obj = inspect.getattr_static(obj, attr)
            if isinstance(obj, property):
                continue
        if isinstance(node, ast.FunctionDef) and callable(obj):
            assert list(inspect.signature(obj).parameters) == parameters(node), name
            checked += 1
    assert checked >= 20


def test_every_public_name_is_documented():
    for name in noisesched.__all__:
        obj = getattr(noisesched, name)
        assert inspect.getdoc(obj), name
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if callable(member) and not attr.startswith("_"):
                    assert inspect.getdoc(member), f"{name}.{attr}"
