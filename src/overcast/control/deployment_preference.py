"""SAM ``DeploymentPreference`` as data: which traffic shift a deploy follows, and when.

A function with ``AutoPublishAlias`` and a ``DeploymentPreference`` moves its alias from
the old version to the new one gradually. This module only describes that shift: it
parses the template mapping into a :class:`Preference`, and answers "what fraction of
traffic is on the new version at time *t*" (:func:`weight_at`) and "at which offsets
does the fraction change" (:func:`schedule`). Driving the shift is ``rollout``'s job.

The predefined types are the ones SAM accepts (samtranslator's
``CODEDEPLOY_PREDEFINED_CONFIGURATIONS_LIST`` in
``samtranslator/model/preferences/deployment_preference_collection.py``), each naming
CodeDeploy's ``CodeDeployDefault.Lambda<Type>`` configuration:
https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html
(section "Predefined deployment configurations for an AWS Lambda compute platform") and
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-deploymentpreference.html

Their timing, as CodeDeploy documents it:

* ``Canary<P>Percent<N>Minutes`` shifts P% at the start, and the remaining traffic N
  minutes later (two increments).
* ``Linear<P>PercentEvery<N>Minute(s)`` shifts P% "at the start of each increment"
  (``TimeBasedLinear.linearPercentage``,
  https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_TimeBasedLinear.html),
  increments N minutes apart, until all traffic is shifted: 10% every minute is 10% at
  0:00, 20% at 1:00 ... 100% at 9:00.
* ``AllAtOnce`` shifts everything at once.

overcast adds shortened types for tests and demos, which AWS would reject, so a
template using them is for overcast only (they all start with ``overcast:``):

* ``overcast:Canary<P>PercentSeconds<N>`` — P% at once, the rest N seconds later
  (``overcast:Canary50PercentSeconds2``).
* ``overcast:Linear<P>PercentEverySeconds<N>`` — P% more every N seconds
  (``overcast:Linear25PercentEverySeconds1``).
* ``overcast:AllAtOnce`` — the same as ``AllAtOnce``.

Percentages are whole numbers from 1 to 100 and intervals at least one second (or one
minute for the AWS names), as CodeDeploy's custom configurations require.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from overcast.errors import OvercastError
from overcast.template.model import TemplateWarning

__all__ = [
    "PREDEFINED_TYPES",
    "DeploymentPreferenceError",
    "Preference",
    "ShiftKind",
    "TrafficShift",
    "parse_preference",
    "parse_type",
    "schedule",
    "shift_duration",
    "weight_at",
]


class DeploymentPreferenceError(OvercastError):
    """A ``DeploymentPreference`` overcast cannot follow (bad type, missing field)."""


class ShiftKind(Enum):
    """How traffic moves from the old version to the new one."""

    ALL_AT_ONCE = "all_at_once"
    CANARY = "canary"
    LINEAR = "linear"


@dataclass(frozen=True, slots=True)
class TrafficShift:
    """The shape of a shift: ``percentage`` per step, ``interval_s`` between steps.

    For ``ALL_AT_ONCE`` the percentage is 100 and the interval 0.
    """

    kind: ShiftKind
    percentage: int
    interval_s: float


@dataclass(frozen=True, slots=True)
class Preference:
    """One function's parsed ``DeploymentPreference``.

    ``type`` is the name as written in the template; ``alarms`` are the CloudWatch
    alarm names (or the logical ids a ``Ref`` names) whose ALARM state rolls the
    deployment back; ``warnings`` are the parts overcast parsed but does not do.
    A disabled preference shifts all at once, as SAM does when ``Enabled`` is false.
    """

    type: str
    shift: TrafficShift
    enabled: bool = True
    alarms: tuple[str, ...] = ()
    warnings: tuple[TemplateWarning, ...] = ()


_MINUTE = 60.0
_ALL_AT_ONCE = TrafficShift(ShiftKind.ALL_AT_ONCE, 100, 0.0)

# https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html
PREDEFINED_TYPES: Mapping[str, TrafficShift] = {
    "Canary10Percent5Minutes": TrafficShift(ShiftKind.CANARY, 10, 5 * _MINUTE),
    "Canary10Percent10Minutes": TrafficShift(ShiftKind.CANARY, 10, 10 * _MINUTE),
    "Canary10Percent15Minutes": TrafficShift(ShiftKind.CANARY, 10, 15 * _MINUTE),
    "Canary10Percent30Minutes": TrafficShift(ShiftKind.CANARY, 10, 30 * _MINUTE),
    "Linear10PercentEvery1Minute": TrafficShift(ShiftKind.LINEAR, 10, 1 * _MINUTE),
    "Linear10PercentEvery2Minutes": TrafficShift(ShiftKind.LINEAR, 10, 2 * _MINUTE),
    "Linear10PercentEvery3Minutes": TrafficShift(ShiftKind.LINEAR, 10, 3 * _MINUTE),
    "Linear10PercentEvery10Minutes": TrafficShift(ShiftKind.LINEAR, 10, 10 * _MINUTE),
    "AllAtOnce": _ALL_AT_ONCE,
}

_OVERCAST_PREFIX = "overcast:"
_OVERCAST_CANARY = re.compile(r"Canary(\d{1,3})PercentSeconds(\d{1,6})")
_OVERCAST_LINEAR = re.compile(r"Linear(\d{1,3})PercentEverySeconds(\d{1,6})")


def _type_error(name: object) -> DeploymentPreferenceError:
    return DeploymentPreferenceError(
        f"unknown DeploymentPreference Type {name!r}",
        hint="use one of " + ", ".join(PREDEFINED_TYPES) + ", or overcast's test types "
        "overcast:Canary<P>PercentSeconds<N> / overcast:Linear<P>PercentEverySeconds<N>",
    )


def parse_type(name: str) -> TrafficShift:
    """The traffic shift a ``DeploymentPreference`` ``Type`` name stands for.

    Raises :class:`DeploymentPreferenceError` for a name neither SAM nor overcast knows.
    """
    predefined = PREDEFINED_TYPES.get(name)
    if predefined is not None:
        return predefined
    if not name.startswith(_OVERCAST_PREFIX):
        raise _type_error(name)
    rest = name[len(_OVERCAST_PREFIX) :]
    if rest == "AllAtOnce":
        return _ALL_AT_ONCE
    for kind, pattern in (
        (ShiftKind.CANARY, _OVERCAST_CANARY),
        (ShiftKind.LINEAR, _OVERCAST_LINEAR),
    ):
        match = pattern.fullmatch(rest)
        if match is None:
            continue
        percentage, seconds = int(match.group(1)), int(match.group(2))
        if not 1 <= percentage <= 100 or seconds < 1:
            raise DeploymentPreferenceError(
                f"DeploymentPreference Type {name!r} is out of range",
                hint="the percentage must be 1-100 and the interval at least 1 second",
            )
        return TrafficShift(kind, percentage, float(seconds))
    raise _type_error(name)


def _parse_enabled(value: object) -> bool:
    # samtranslator treats the strings "false"/"False" as false and everything else
    # as given (deployment_preference.py, from_dict); overcast is stricter and refuses
    # values that are neither booleans nor their spellings.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise DeploymentPreferenceError(
        f"DeploymentPreference Enabled must be true or false, not {value!r}",
        hint="resolve parameters before parsing the preference",
    )


def _parse_alarms(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise DeploymentPreferenceError(
            "DeploymentPreference Alarms must be a list of alarm names or Refs"
        )
    names: list[str] = []
    for item in value:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping) and set(item) == {"Ref"} and isinstance(item["Ref"], str):
            names.append(item["Ref"])
        else:
            raise DeploymentPreferenceError(
                f"DeploymentPreference alarm {item!r} is neither a name nor a Ref",
                hint="name the alarm, or Ref an AWS::CloudWatch::Alarm in the template",
            )
    return tuple(names)


def parse_preference(mapping: Mapping[str, Any]) -> Preference:
    """Parse a function's ``DeploymentPreference`` mapping (intrinsics already resolved).

    Reads ``Type`` (required, as SAM requires it), ``Enabled`` (default true) and
    ``Alarms``; ``Hooks``, ``Role``, ``TriggerConfigurations`` and
    ``PassthroughCondition`` are accepted and reported in ``warnings`` because overcast
    does not run them. Raises :class:`DeploymentPreferenceError` when the mapping
    cannot be followed.
    """
    if not isinstance(mapping, Mapping):
        raise DeploymentPreferenceError("DeploymentPreference must be a mapping")
    enabled = _parse_enabled(mapping.get("Enabled", True))
    type_name = mapping.get("Type")
    if type_name is None:
        raise DeploymentPreferenceError(
            "DeploymentPreference is missing required property 'Type'",
            hint="add e.g. Type: Canary10Percent5Minutes",
        )
    if not isinstance(type_name, str):
        raise _type_error(type_name)
    shift = parse_type(type_name)
    alarms = _parse_alarms(mapping.get("Alarms"))
    warnings: list[TemplateWarning] = []
    if "Hooks" in mapping:
        warnings.append(
            TemplateWarning(
                "DeploymentPreference Hooks (PreTraffic/PostTraffic) are ignored: "
                "overcast shifts traffic without running hook functions"
            )
        )
    for ignored in ("Role", "TriggerConfigurations", "PassthroughCondition"):
        if ignored in mapping:
            warnings.append(TemplateWarning(f"DeploymentPreference {ignored} is ignored"))
    return Preference(
        type=type_name,
        shift=shift if enabled else _ALL_AT_ONCE,
        enabled=enabled,
        alarms=alarms,
        warnings=tuple(warnings),
    )


def _steps(shift: TrafficShift) -> int:
    """How many increments the shift has (the first one at offset 0)."""
    if shift.kind is ShiftKind.ALL_AT_ONCE:
        return 1
    if shift.kind is ShiftKind.CANARY:
        return 1 if shift.percentage >= 100 else 2
    return math.ceil(100 / shift.percentage)


def _percent_at_step(shift: TrafficShift, step: int) -> int:
    if shift.kind is ShiftKind.LINEAR:
        return min(100, (step + 1) * shift.percentage)
    # Canary and all-at-once: the first step's share, then everything.
    return shift.percentage if step == 0 else 100


def shift_duration(preference: Preference) -> float:
    """Seconds from the start of the shift until all traffic is on the new version."""
    return (_steps(preference.shift) - 1) * preference.shift.interval_s


def schedule(preference: Preference) -> list[tuple[float, float]]:
    """The ``(offset_s, weight)`` steps of the shift, from offset 0 to the last (weight 1.0).

    Weights are fractions of traffic on the new version; each holds until the next
    step's offset.
    """
    shift = preference.shift
    return [
        (step * shift.interval_s, _percent_at_step(shift, step) / 100)
        for step in range(_steps(shift))
    ]


def weight_at(preference: Preference, started_at: float, now: float) -> float:
    """The fraction of traffic on the new version ``now``, for a shift begun at ``started_at``.

    Times are seconds on one clock (e.g. ``time.monotonic()``); a ``now`` before the
    start counts as the start. Returns 1.0 once the shift is done.
    """
    shift = preference.shift
    steps = _steps(shift)
    if steps == 1:
        return 1.0
    elapsed = max(0.0, now - started_at)
    step = min(steps - 1, int(elapsed // shift.interval_s))
    return _percent_at_step(shift, step) / 100
