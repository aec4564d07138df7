"""Money never touches float: no `float` and no `FloatField` anywhere in betaald/ (ADR 0003)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "betaald"


def float_uses(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "float":
            lines.append(node.lineno)
        elif isinstance(node, ast.Attribute) and node.attr == "FloatField":
            lines.append(node.lineno)
        elif isinstance(node, ast.Constant) and type(node.value) is float:
            lines.append(node.lineno)
    return sorted(lines)


def test_no_module_in_betaald_uses_float():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders += [f"{path.relative_to(PACKAGE.parent)}:{line}" for line in float_uses(tree)]
    assert offenders == [], f"float used in: {offenders}"


def test_the_float_check_finds_a_float():
    assert float_uses(ast.parse("x = float('1.5')\ny = 0.5\nm = models.FloatField()")) == [1, 2, 3]
