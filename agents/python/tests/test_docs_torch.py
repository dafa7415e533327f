"""The runnable examples in the torch side's docstrings."""

import doctest
import logging

import support

support.require_torch()

import ergowatch  # noqa: E402
from ergowatch import distributed, geometry, watcher  # noqa: E402


def load_tests(loader, tests, ignore):
    logging.getLogger("ergowatch").setLevel(logging.CRITICAL)
    for module in (geometry, watcher, distributed):
        tests.addTests(doctest.DocTestSuite(module))
    finder = doctest.DocTestFinder()
    for test in finder.find(ergowatch.watch, "ergowatch.watch", globs={}):
        tests.addTest(doctest.DocTestCase(test))
    return tests
