"""The Lambda API's view of a platform: functions by name, qualified by stage or version.

Each stage is an alias of every function its stacks run (``HelloFunction:prod``), as
a stage alias is in a SAM app deployed with ``AutoPublishAlias: !Ref Stage``; a
function name belongs to one stack of a stage (deploys refuse a second); a number is
a version (one a live deployment runs); no qualifier, or ``$LATEST``, is the newest
version any stage runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from overcast.control.alias_router import Target
from overcast.control.stage import LiveDeployment, Stage
from overcast.invoke import FunctionNotFoundError, InvokeRequest, InvokeResult
from overcast.template import FunctionSpec


class PlatformInvoker:
    """Invokes a function of a platform through the stage alias or version asked for."""

    cancel_safe = True

    def __init__(self, stages: Mapping[str, Stage]) -> None:
        self._stages = stages

    def _live(self) -> list[LiveDeployment]:
        return [live for stage in self._stages.values() for live in stage.lives()]

    def functions(
        self,
        qualifier: str | None = None,
        stages: Sequence[str] = (),
        stacks: Sequence[str] = (),
    ) -> Mapping[str, FunctionSpec]:
        """The functions a qualifier names, by name.

        A stage's name: what that stage runs; a version: the deployment running it;
        otherwise every function some stage (of ``stages``, when given) runs, with the
        newest version's configuration.
        """
        if qualifier is not None and qualifier in self._stages:
            return {
                s.name: s
                for live in self._stages[qualifier].lives()
                for s in live.model.functions.values()
            }
        if qualifier is not None and qualifier.isdigit():
            return {
                spec.name: spec
                for live in self._live()
                for spec in live.model.functions.values()
                if live.record.versions.get(spec.name) == int(qualifier)
            }
        out: dict[str, FunctionSpec] = {}
        newest: dict[str, int] = {}
        for name, stage in self._stages.items():
            if stages and name not in stages:
                continue
            pairs = (
                (lv, s)
                for lv in stage.lives()
                if not stacks or lv.record.stack in stacks
                for s in lv.model.functions.values()
            )
            for live, spec in pairs:
                version = live.record.versions.get(spec.name, 0)
                if version >= newest.get(spec.name, -1):
                    out[spec.name], newest[spec.name] = spec, version
        return out

    def function_names(self) -> list[str]:
        return sorted(self.functions())

    def stage_of(self, qualifier: str) -> str | None:
        """The stage a qualifier is the alias of, if it is one."""
        return qualifier if qualifier in self._stages else None

    def stack_of(self, stage: str, function: str) -> str | None:
        """The stack of ``stage`` that runs ``function``, if one does."""
        found = self._stages.get(stage)
        for live in found.lives() if found is not None else ():
            if any(spec.name == function for spec in live.model.functions.values()):
                return live.record.stack
        return None

    def _target(self, name: str, qualifier: str) -> tuple[LiveDeployment, Target | None] | None:
        if qualifier in self._stages:
            live = next(
                (lv for lv in self._stages[qualifier].lives() if name in lv.router.routes), None
            )
            return (live, None) if live is not None else None
        best: tuple[LiveDeployment, Target | None] | None = None
        best_version = -1
        for live in self._live():
            route = live.router.routes.get(name)
            if route is None:
                continue
            for target in (route.primary, route.canary):
                if target is None:
                    continue
                if qualifier.isdigit():
                    if target.version == qualifier:
                        return live, target
                elif int(target.version) > best_version:
                    best, best_version = (live, target), int(target.version)
        return best

    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        qualifier = request.qualifier or "$LATEST"
        found = self._target(request.function_name, qualifier)
        if found is None:
            suffix = "" if qualifier == "$LATEST" else f":{qualifier}"
            raise FunctionNotFoundError(f"Function not found: {request.function_name}{suffix}")
        live, target = found
        if target is None:  # a stage alias: its router applies the alias's weights
            return await live.router.invoke(request)
        return await target.invoker.invoke(replace(request, qualifier=""))
