"""Oracle for property tests: what address does fail2ban itself extract with our filter?

Usage: python3 fail2ban-extract.py <filter.d parent dir> <name>
stdin: JSON Lines {"line": "...", "opts": {"mode": "normal"}}  (opts optional)
stdout: one JSON array per input line: the ids of every failregex that matched (all regexes
are tried, as in fail2ban's sample tests), e.g. ["192.0.2.1"] or [].
"""
import json
import sys
import unittest

from fail2ban.tests import samplestestcase as st
from fail2ban.tests.utils import initTests


def main():
    basedir, name = sys.argv[1], sys.argv[2]
    initTests(None)
    case = st.FilterSamplesRegex("testReWrongGreedyCatchAll")
    case.setUp()
    out = []
    try:
        for raw in sys.stdin:
            if not raw.strip():
                continue
            req = json.loads(raw)
            opts = req.get("opts") or {}
            flt_name = name + json.dumps(opts, sort_keys=True)
            flt, _used = case._readFilter(flt_name, name, basedir, opts=opts)
            ret = flt.processLine(req["line"])
            out.append(json.dumps([str(r[1]) for r in ret if not r[3].get("nofail")]))
    finally:
        case.tearDown()
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
