"""The runtime's own exception hierarchy (rooted in :class:`overcast.errors.OvercastError`)."""

from __future__ import annotations

from overcast.errors import OvercastError


class RuntimePlatformError(OvercastError):
    """The runtime itself could not do what was asked (not a function's fault)."""


class ProtocolError(RuntimePlatformError):
    """A peer (zygote or worker) sent a frame that breaks the protocol."""


class InvalidTransitionError(RuntimePlatformError):
    """An instance was asked to move along an edge its state table does not have."""


class ZygoteError(RuntimePlatformError):
    """A zygote failed to start or to spawn an instance."""


class DependencyInstallError(RuntimePlatformError):
    """pip could not install a function's requirements."""

    def __init__(self, message: str, *, package: str | None = None, output_tail: str = "") -> None:
        super().__init__(message, hint="Fix requirements.txt, or install the package by hand.")
        self.package = package
        self.output_tail = output_tail


class SandboxError(RuntimePlatformError):
    """The sandbox a function's instances run in could not be built as asked."""
