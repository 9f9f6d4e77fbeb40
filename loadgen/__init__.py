"""Load generator: many distinct voters, some changing their vote, against the vote service.

Used by ``make seed``, the benchmarks and the fault-injection tests. Each voter's votes are sent
in order, each retried until acknowledged (as a browser user would press again), so the exact
expected totals are known however many requests fail along the way.
"""
