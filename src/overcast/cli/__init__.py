"""The ``overcast`` command line: ``up``, ``invoke``, ``logs``, ``validate``, ``init``.

Owns argument parsing, progress and tables (click + rich) and nothing else; it
delegates to ``control`` (nodes, app loading), ``runtime`` (logs, dependencies)
and ``template`` (validation). May import every overcast package.
"""
