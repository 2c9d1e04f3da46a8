"""README's python snippets run: each ```python block of README.md runs, in a directory holding the
run.h5 it reads (tiny scenario), with the packages scripts/setup.sh installs (pandas and h5py for
"Reading a result file")."""
import os
import re
import subprocess
import sys

from cpntest import SRC, fail, missing_module_message, run

with open(os.path.join(SRC, "README.md"), encoding="utf-8") as f:
    blocks = re.findall(r"^```python\n(.*?)^```", f.read(), re.S | re.M)
if not blocks:
    fail("README.md has no python snippet")
_, out = run(f"{SRC}/scenarios/tiny.yaml")
for i, code in enumerate(blocks, 1):
    p = subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(out), capture_output=True, text=True)
    missing = re.search(r"ModuleNotFoundError: No module named '([\w.]+)'", p.stderr)
    if missing:
        sys.exit(missing_module_message(missing.group(1)) + f" (README.md python snippet {i})")
    if p.returncode != 0:
        fail(f"README.md python snippet {i} exited {p.returncode}:\n{p.stderr[-2000:]}")
    print(f"ok: README.md python snippet {i} ({len(code.splitlines())} lines) runs")
