"""The runnable examples in the transport's docstrings (no torch)."""

import doctest
import logging

import support  # noqa: F401  (puts the package on sys.path)

import ergowatch
from ergowatch import agent, protocol, spool


def load_tests(loader, tests, ignore):
    logging.getLogger("ergowatch").setLevel(logging.CRITICAL)
    for module in (protocol, agent, spool):
        tests.addTests(doctest.DocTestSuite(module))
    tests.addTests(doctest.DocTestSuite(ergowatch, test_finder=doctest.DocTestFinder(recurse=False)))
    return tests
