"""The layout rules that import-linter and ruff do not check: short functions outside tests."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE_FOLDERS = [
    "core", "filters", "stages", "trainer_output", "tokenizer_train", "card", "synthetic", "model_training",
    "pipeline", "jobs", "bench", "scripts",
]  # fmt: skip
MAX_FUNCTION_LINES = 80


def long_functions(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(root)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


def test_no_function_over_80_lines_outside_tests():
    found = [entry for folder in CODE_FOLDERS for path in sorted((ROOT / folder).rglob("*.py"))
             for entry in long_functions(path)]  # fmt: skip
    assert not found, "split these functions:\n" + "\n".join(found)


def test_the_rule_sees_a_long_function(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text("def f():\n" + "    x = 1\n" * 80)
    assert long_functions(path, tmp_path) == ["probe.py:1 f (81 lines)"]
