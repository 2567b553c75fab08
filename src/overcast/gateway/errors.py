"""Errors the gateway raises on purpose (configuration problems found at start)."""

from __future__ import annotations

from overcast.errors import OvercastError


class GatewayError(OvercastError):
    """Root of the gateway's own errors."""


class RouteConflictError(GatewayError):
    """Two routes (possibly of two APIs) claim the same method and path."""


class InvalidRouteError(GatewayError):
    """A route path API Gateway would not accept (e.g. a greedy variable not at the end)."""


class InvalidApiKeyOptionError(GatewayError):
    """An API key given on the command line is not NAME=VALUE[:PLAN]."""
