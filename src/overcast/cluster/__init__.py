"""Cluster mode: many overcast nodes behind one load balancer, sharing their state.

May import :mod:`overcast.errors` and the standard library; drivers of shared backends
are imported only by the modules that need them.
"""
