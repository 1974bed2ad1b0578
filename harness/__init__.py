"""Support for the tests and the benchmarks (not part of the product): servers on loopback, load.

harness.servers   a free port; the app served in a thread of this process, or as
                  `python -m app` in a process of its own
harness.load      a class's worth of SSE watchers and generate requests against a URL
"""
