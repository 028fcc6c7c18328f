"""Docs that cannot go stale: every shown command is run and its shown output compared, and every
link and file path in the docs and docstrings exists in the repository.

A fenced block in README.md or docs/*.md whose lines start with ``$ `` is a shell session: each
command runs (bash, in a fresh folder per page that holds a ``specs`` link to the shipped specs,
so pages may build on earlier blocks), with stdout and stderr together, and what follows it up
to the next ``$`` line must be exactly its output (trailing spaces aside). ``echo $?`` prints the
exit status of the command before it. A command shown without output is run only when another
command of its block shows output. A block preceded by the line
``<!-- docs-test: skip (why) -->`` is not run; the marker must say why. A block preceded by
``<!-- docs-test: slow (why) -->`` runs in the slow tier only (a long trace or sweep; it must
not be one later blocks of its page build on; docs/testing_and_ci.md lists them).
"""
import ast
import glob
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

PAGES = ["README.md"] + sorted(os.path.relpath(p, ROOT)
                               for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
SKIP = re.compile(r"<!-- docs-test: skip \((.+)\) -->")
SLOW = re.compile(r"<!-- docs-test: slow \((.+)\) -->")
COMMENT = re.compile(r"\s{2,}#.*$")         # `$ cmd   # what it does`: not part of the command


def fenced_blocks(page):
    """(line number, lines, skip reason or None) of every fenced block of a page."""
    with open(os.path.join(ROOT, page), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    blocks, start, skip = [], None, None
    for number, line in enumerate(lines, 1):
        if not line.startswith("```"):
            continue
        if start is None:
            previous = lines[number - 2] if number > 1 else ""
            match = SKIP.search(previous)
            start, skip = number, match.group(1) if match else None
        else:
            blocks.append((start, lines[start:number - 1], skip))
            start = None
    return blocks


def session(lines):
    """[(command, expected output lines)] of a block, [] when it shows no command."""
    steps = []
    for line in lines:
        if line.startswith("$ "):
            steps.append((COMMENT.sub("", line[2:]).strip(), []))
        elif steps:
            steps[-1][1].append(line.rstrip())
    for _, output in steps:             # a blank line may separate one command from the next
        while output and not output[-1]:
            output.pop()
    return steps


def sessions(page):
    return [(number, steps, skip) for number, lines, skip in fenced_blocks(page)
            for steps in [session(lines)] if any(output for _, output in steps)]


CASES = [(page, number, steps, skip) for page in PAGES for number, steps, skip in sessions(page)]


def slow_blocks(page):
    """Line numbers of the blocks of ``page`` marked to run in the slow tier only."""
    with open(os.path.join(ROOT, page), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    return {number + 1 for number, line in enumerate(lines, 1) if SLOW.search(line)}


SLOW_BLOCKS = {(page, number) for page in PAGES for number in slow_blocks(page)}


@pytest.fixture(scope="module")
def page_folders(tmp_path_factory):
    folders = {}

    def folder(page):
        if page not in folders:
            folders[page] = tmp_path_factory.mktemp(os.path.basename(page).replace(".", "_"))
            os.symlink(os.path.join(ROOT, "specs"), folders[page] / "specs")
        return folders[page]
    return folder


def run_session(steps, cwd):
    for (command, expected), actual in zip(steps, actual_outputs(steps, cwd)):
        if expected:
            assert actual == expected, f"$ {command}\n" + "\n".join(actual)


@pytest.mark.parametrize("page, number, steps, skip", [
    pytest.param(*case, marks=[pytest.mark.slow] if case[:2] in SLOW_BLOCKS else [],
                 id=f"{case[0]}:{case[1]}") for case in CASES])
def test_shown_output_is_what_the_command_prints(page, number, steps, skip, page_folders):
    if skip:
        pytest.skip(f"marked in {page}: {skip}")
    run_session(steps, page_folders(page))


def test_every_page_with_commands_is_checked():
    # The parser must find the sessions the pages show (a silent parser checks nothing).
    checked = {page for page, *_ in CASES}
    assert {"README.md", "docs/cli.md", "docs/closed_forms.md", "docs/design_spaces.md",
            "docs/testing_and_ci.md", "docs/efficientnet_rexnet.md"} <= checked
    assert all(skip is None or skip.strip() for *_, skip in CASES)


# -- links and file paths ---------------------------------------------------------------------
LINK = re.compile(r"\]\(([^)\s]+)\)")
OUTSIDE = ("INTERFACE.md", "families.md", "ARCHITECTURE.md", "shared/reference")
# a repository path named in a docstring: ``docs/x.md``, ``../docs/x.md``, tests/x.py, specs/...
DOC_PATH = re.compile(r"(?<![\w/.])((?:\.\./)*(?:docs|tests|specs|netcalc|benchmarks)/"
                      r"[\w./-]*\w)")
USER_FILES = {"specs/my_net.yaml", "specs/spaces/x.yaml"}    # a user's files, in examples


def test_every_relative_link_in_the_docs_exists():
    broken = []
    for page in PAGES:
        with open(os.path.join(ROOT, page), encoding="utf-8") as handle:
            text = handle.read()
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = os.path.join(ROOT, os.path.dirname(page), target.split("#")[0])
            if not os.path.exists(path):
                broken.append(f"{page}: {target}")
    assert broken == []


def _python_files():
    return sorted(glob.glob(os.path.join(ROOT, "netcalc", "**", "*.py"), recursive=True))


def _docstrings(path):
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                yield doc


def test_every_path_in_a_docstring_exists():
    missing = []
    for path in _python_files():
        folder = os.path.dirname(path)
        for doc in _docstrings(path):
            for named in DOC_PATH.findall(doc):
                if "*" in named or named in USER_FILES:
                    continue
                relative = os.path.join(folder, named) if named.startswith("..") else None
                if not any(p and os.path.exists(p) for p in
                           (relative, os.path.join(ROOT, named))):
                    missing.append(f"{os.path.relpath(path, ROOT)}: {named}")
    assert missing == []


def test_no_reference_to_files_outside_the_repository():
    found = []
    for path in PAGES + [os.path.relpath(p, ROOT) for p in _python_files()]:
        with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
            text = handle.read()
        found += [f"{path}: {name}" for name in OUTSIDE if name in text]
    assert found == []


def test_ci_runs_the_readme_test_command_then_the_slow_tier():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    command = next(line for line in readme.splitlines()
                   if line.startswith("python3 -m venv") and "pytest" in line)
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as handle:
        steps = [line for line in handle.read().splitlines() if line and line[0] not in "#"]
    # the slow tier on two workers, one torch thread each
    slow = "OMP_NUM_THREADS=1 python -m pytest -q -m slow -n 2 || [ $? -eq 5 ]"
    assert steps[-2:] == [command, slow]


# -- rewriting the shown outputs after an intended change -------------------------------------------
def actual_outputs(steps, cwd):
    """The output each command of a session prints now (as run_session runs them)."""
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep
               + os.environ.get("PATH", ""), COLUMNS="200")
    status, outputs = 0, []
    for command, _ in steps:
        if command == "echo $?":
            actual = [str(status)]
        else:
            done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
            status, actual = done.returncode, [l.rstrip() for l in done.stdout.splitlines()]
        outputs.append(actual)
    return outputs


def update_page(page, cwd):
    """Rewrite the shown output of every checked command of ``page`` with what it prints now.

    Only commands that show output get it rewritten; review the diff before committing."""
    path = os.path.join(ROOT, page)
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    for number, steps, skip in reversed(sessions(page)):
        if skip:
            continue
        end = next(i for i in range(number, len(lines)) if lines[i].startswith("```"))
        block = lines[number:end]
        starts = [i for i, line in enumerate(block) if line.startswith("$ ")]
        rebuilt = block[:starts[0]]
        for (i, j), (_, shown), actual in zip(zip(starts, starts[1:] + [len(block)]), steps,
                                              actual_outputs(steps, cwd)):
            region = block[i + 1:j]
            blanks = len(region) - len("\n".join(region).rstrip("\n ").splitlines()) \
                if "".join(region).strip() else len(region)
            rebuilt += [block[i]] + (actual + [""] * blanks if shown else region)
        lines[number:end] = rebuilt
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    # python tests/test_docs.py --update [PAGE...]: after an intended output change
    import tempfile

    if sys.argv[1:2] != ["--update"]:
        sys.exit("usage: python tests/test_docs.py --update [PAGE...]")
    for page in sys.argv[2:] or PAGES:
        folder = tempfile.mkdtemp()
        os.symlink(os.path.join(ROOT, "specs"), os.path.join(folder, "specs"))
        update_page(page, folder)
