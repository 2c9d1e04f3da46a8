"""Every Python module the repository imports comes from a package that scripts/setup.sh installs.

Scanned: every .py file of the repository, the python3 heredocs and `python3 -c` strings of its shell
scripts, and the python (and sh) snippets of its Markdown files (README.md's "Reading a result file"...).
Each imported module must be in the standard library (sys.stdlib_module_names), a file or package of the
repository, or a row of scripts/python-deps.txt (module -> Debian package). Then: every package of that
table is one `scripts/setup.sh --list-packages` prints, every row is used, and on this machine each module
imports and its files belong to the package named (or to one that package depends on), per dpkg.
Removing a row from the table, or a package from setup.sh, fails this test."""
import ast
import importlib
import os
import re
import subprocess
import sys

from cpntest import SRC, fail

TABLE = os.path.join(SRC, "scripts", "python-deps.txt")
SKIP_DIRS = {".git", "build", "node_modules", "__pycache__"}


def read_table():
    table = {}
    with open(TABLE, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) != 2:
                fail(f"{TABLE}:{n}: want 'module package', got {line.strip()!r}")
            if words[0] in table:
                fail(f"{TABLE}:{n}: module {words[0]} listed twice")
            table[words[0]] = words[1]
    return table


def repo_files():
    """The repository's files (git ls-files: tracked and untracked, not ignored), or a walk of the tree without build and VCS directories."""
    try:
        out = subprocess.run(["git", "-C", SRC, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True).stdout
        files = [os.path.join(SRC, p) for p in out.decode().split("\0") if p]
        if files:
            return [p for p in files if os.path.isfile(p)]
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for root, dirs, names in os.walk(SRC):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith("build")]
        files += [os.path.join(root, n) for n in names]
    return files


PYCMD = r"(?:python3?\b|\$\{?PY\b)"  # python3, /usr/bin/python3, or lib.sh's "$PY"
HEREDOC = re.compile(PYCMD + r"[^\n]*<<-?\s*['\"]?(\w+)['\"]?[^\n]*\n(.*?)\n\s*\1\s*$", re.S | re.M)
DASH_C = re.compile(PYCMD + r"[^\n]*?\s-c\s+(?:'([^']*)'|\"([^\"]*)\")")
FENCE = re.compile(r"^\s*```(\w*)[^\n]*\n(.*?)^\s*```", re.S | re.M)


def shell_snippets(text):
    """(offset, python source) of the python3 heredocs and -c strings of a shell script."""
    for m in HEREDOC.finditer(text):
        yield m.start(2), m.group(2)
    for m in DASH_C.finditer(text):
        yield m.start(), m.group(1) if m.group(1) is not None else m.group(2)


def snippets(path):
    """(line, python source) of every piece of Python in a file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    line_of = lambda off: text.count("\n", 0, off) + 1  # noqa: E731
    if path.endswith(".py") or text.startswith("#!/usr/bin/python") or text.startswith("#!/usr/bin/env python"):
        yield 1, text
    elif path.endswith(".sh") or text.startswith("#!/usr/bin/env bash") or text.startswith("#!/bin/"):
        for off, src in shell_snippets(text):
            yield line_of(off), src
    elif path.endswith(".md"):
        for m in FENCE.finditer(text):
            lang, body = m.group(1).lower(), m.group(2)
            if lang in ("python", "py", "python3"):
                yield line_of(m.start(2)), body
            elif lang in ("sh", "bash", "shell", "console", ""):
                for off, src in shell_snippets(body):
                    yield line_of(m.start(2) + off), src


def imports(src):
    """(line, top-level module) of every import statement; a regex fallback for snippets that do not parse."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        for n, line in enumerate(src.splitlines(), 1):
            m = re.match(r"\s*(?:import|from)\s+([A-Za-z_]\w*)", line)
            if m:
                yield n, m.group(1)
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def dpkg_owner(path):
    p = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return p.stdout.split(":", 1)[0].split(",")[0].strip()


def depends(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}", pkg], capture_output=True, text=True)
    return {re.split(r"[\s(:]", d.strip())[0] for d in re.split(r"[,|]", p.stdout) if d.strip()}


table = read_table()
files = repo_files()
local = {os.path.splitext(os.path.basename(p))[0] for p in files if p.endswith(".py")}
local |= {os.path.basename(os.path.dirname(p)) for p in files if p.endswith("__init__.py")}

used = {}  # module -> first place it is imported
unknown = []
for path in sorted(files):
    rel = os.path.relpath(path, SRC)
    if not (rel.endswith((".py", ".sh", ".md")) or "." not in os.path.basename(rel)):
        continue
    for base, src in snippets(path):
        for n, mod in imports(src):
            if mod in sys.stdlib_module_names or mod in local:
                continue
            where = f"{rel}:{base + n - 1}"
            used.setdefault(mod, where)
            if mod not in table:
                unknown.append((mod, where))
print(f"{len(files)} files scanned; modules from outside the standard library and the repository: "
      + ", ".join(f"{m} ({w})" for m, w in sorted(used.items())))

problems = []
for mod, where in unknown:
    hint = ""
    try:
        owner = dpkg_owner(importlib.import_module(mod).__file__)
        hint = f"; here it comes from the Debian package {owner}" if owner else ""
    except Exception:  # noqa: BLE001 (any import failure only loses the hint)
        pass
    problems.append(f"module {mod} (imported at {where}) has no row in scripts/python-deps.txt, so "
                    f"scripts/setup.sh does not install it{hint}")

setup = subprocess.run(["bash", os.path.join(SRC, "scripts", "setup.sh"), "--list-packages"],
                       capture_output=True, text=True)
if setup.returncode != 0:
    fail(f"scripts/setup.sh --list-packages exited {setup.returncode}: {setup.stderr}")
installed_by_setup = set(setup.stdout.split())
for mod, pkg in sorted(table.items()):
    if pkg not in installed_by_setup:
        problems.append(f"{pkg} (module {mod}) is not among the packages scripts/setup.sh installs")
    if mod not in used:
        problems.append(f"scripts/python-deps.txt lists {mod} ({pkg}) but nothing imports it")
    try:
        m = importlib.import_module(mod)
    except ImportError as e:
        problems.append(f"module {mod} does not import ({e}): install the Debian package {pkg} "
                        f"(bash scripts/setup.sh does)")
        continue
    owner = dpkg_owner(os.path.realpath(m.__file__))
    if owner is None:
        problems.append(f"module {mod} comes from {m.__file__}, which no Debian package owns "
                        f"(not {pkg}): run the tests with the Debian python3")
    elif owner != pkg and owner not in depends(pkg):
        problems.append(f"module {mod} comes from the Debian package {owner}, not {pkg} as scripts/python-deps.txt says")
    else:
        print(f"ok: {mod:12s} {pkg:20s} ({m.__file__}, package {owner})")

if problems:
    fail("\n  ".join(["Python dependencies:"] + problems))
print(f"ok: {len(used)} modules, each from a package scripts/setup.sh installs")
