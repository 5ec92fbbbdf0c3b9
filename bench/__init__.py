"""Benchmarks: each prints a table of figures; ratios are compared within one run, never asserted."""

import os

from libs.common.outbound import ALLOW_ENV

# Every bench talks to services, the sandbox and shop emulators it runs itself on loopback over plain
# http; tenant URLs are https-only otherwise (issue 16). Children inherit it through os.environ.
os.environ.setdefault(ALLOW_ENV, "127.0.0.1,localhost")
