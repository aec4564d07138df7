"""Every `betaald calc ... --json` example in docs/algorithms/*.md gives the output shown."""

import io
import json
import re
import shlex
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[2] / "docs" / "algorithms"
BLOCK = re.compile(r"```console\n(.*?)```", re.DOTALL)


def examples():
    found = []
    for path in sorted(DOCS.glob("*.md")):
        for block in BLOCK.findall(path.read_text(encoding="utf-8")):
            command, _, output = block.partition("\n")
            found.append(pytest.param(command, output, id=f"{path.stem}:{len(found)}"))
    return found


EXAMPLES = examples()


def test_the_docs_have_examples_for_every_calculation():
    commands = " ".join(param.values[0] for param in EXAMPLES)
    for name in ("interest", "rate", "costs", "deadline", "allocate", "statement"):
        assert f"betaald calc {name}" in commands


@pytest.mark.parametrize(("command", "output"), EXAMPLES)
def test_a_documented_example_matches_the_calculator(command, output):
    assert command.startswith("$ ")
    stdin = None
    line = command[2:]
    if line.startswith("echo "):
        echo, _, line = line.partition(" | ")
        stdin = shlex.split(echo)[1]
    words = shlex.split(line)
    assert words[:2] == ["betaald", "calc"]
    out = io.StringIO()
    options = {"stdout": out}
    if stdin is not None:
        options["stdin"] = io.StringIO(stdin)
    call_command(*words[1:], **options)
    assert json.loads(out.getvalue()) == json.loads(output)
