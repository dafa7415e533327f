"""Runs one suite of the Python agent's tests and ends with one line that says how it went.

Usage: python run_tests.py {transport|torch|all} [-v]

- transport: the codec (golden vectors), the Agent and its disk spool against a fake monitor; no torch.
- torch: the series, distributed (gloo), integrations and end-to-end (real monitor) tests.

Exit status 1 if anything failed or errored, or if the suite ran no test. Under CI=true a
missing torch or monitor jar is an error, never a skip (support.require_torch).
"""

import os
import platform
import sys
import time
import unittest

SUITES = {
    "transport": ["test_protocol", "test_agent", "test_spool", "test_docs_transport", "test_package", "test_budget"],
    "torch": ["test_series", "test_cuda", "test_distributed", "test_integrations", "test_end_to_end", "test_tls_end_to_end", "test_docs_torch",
              "test_real_training"],
}
SUITES["all"] = SUITES["transport"] + SUITES["torch"]


def main(argv):
    args = [a for a in argv if not a.startswith("-")]
    verbosity = 2 if "-v" in argv else 1
    if len(args) != 1 or args[0] not in SUITES:
        print(f"usage: {os.path.basename(sys.argv[0])} {{{'|'.join(SUITES)}}} [-v]", file=sys.stderr)
        return 2
    name = args[0]
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for module in SUITES[name]:
        # discover() turns a module-level SkipTest into skipped tests and an import error into
        # a failing test, where loadTestsFromName would crash the runner.
        suite.addTests(loader.discover(here, pattern=f"{module}.py", top_level_dir=here))
    try:
        import torch
        torch_version = f"torch {torch.__version__}"
    except ImportError:
        torch_version = "no torch"
    start = time.monotonic()
    result = unittest.TextTestRunner(verbosity=verbosity, stream=sys.stdout).run(suite)
    elapsed = time.monotonic() - start
    ok = result.wasSuccessful() and result.testsRun > 0
    for reason in sorted({reason for _, reason in result.skipped}):
        print(f"skipped: {reason}")
    print(f"ergowatch python tests [{name}] with {sys.executable} (Python {platform.python_version()}, "
          f"{torch_version}): {result.testsRun} run, {len(result.failures)} failures, {len(result.errors)} errors, "
          f"{len(result.skipped)} skipped in {elapsed:.1f} s: {'OK' if ok else 'FAILED'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
