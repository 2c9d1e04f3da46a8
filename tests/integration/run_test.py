"""Runs one Python integration test as its main program: `python3 run_test.py test_x.py [args]`. ctest runs
every tests/integration/test_*.py through it, so that a Python module missing on the machine fails the
test with the Debian package to install (from scripts/python-deps.txt) rather than with a traceback."""
import runpy
import sys

from cpntest import missing_module_message

if len(sys.argv) < 2:
    sys.exit("usage: run_test.py TEST.py [ARGS...]")
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except ModuleNotFoundError as e:
    if not e.name or e.name.split(".")[0] in sys.stdlib_module_names:
        raise
    sys.exit(missing_module_message(e.name))
