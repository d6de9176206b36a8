"""Runs fail2ban's own sample-log test (samplestestcase) on cloudjail's filter.d files.

Usage: python3 fail2ban-samples.py <filter.d parent dir> <logs dir> <name> [<name> ...]

For each name, <parent>/filter.d/<name>.conf is loaded by fail2ban itself and checked against
<logs dir>/<name> with fail2ban's rules (failJSON, filterOptions, exactly one regex per line,
every regex has a sample, greedy catch-all check, done when a filter is read). Exit status 0 when all pass.
"""
import os
import sys
import unittest

from fail2ban.tests import samplestestcase as st
from fail2ban.tests.utils import initTests


def main():
    basedir, logs, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    initTests(None)
    # samplestestcase reads <TEST_FILES_DIR>/logs/<name>
    parent = os.path.dirname(os.path.abspath(logs))
    if os.path.basename(os.path.abspath(logs)) != "logs":
        sys.exit("logs dir must be named 'logs'")
    st.TEST_FILES_DIR = parent

    class Ours(st.FilterSamplesRegex):
        pass

    tests = []
    for name in names:
        meth = "testSample_" + name.replace("-", "_")
        setattr(Ours, meth, st.testSampleRegexsFactory(name, basedir))
        tests.append(Ours(meth))
    result = unittest.TextTestRunner(verbosity=2).run(unittest.TestSuite(tests))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
