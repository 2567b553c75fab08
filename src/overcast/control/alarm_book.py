"""Alarms defined on a platform rather than in a template (CloudWatch's PutMetricAlarm).

``POST /overcast/alarms`` takes PutMetricAlarm's parameters — ``AlarmName``,
``Namespace``, ``MetricName``, ``Dimensions``, ``Statistic``/``ExtendedStatistic``,
``Period``, ``EvaluationPeriods``, ``Threshold``, ``ComparisonOperator``,
``TreatMissingData``, ... (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html)
— plus overcast's ``Stage`` (which stage's metrics it watches). The same names as an
``AWS::CloudWatch::Alarm``'s Properties, so one parser checks both. Putting an alarm
with an existing name replaces it, as PutMetricAlarm does. Kept in
``<state>/alarms.json``, written atomically.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from overcast.durable_files import atomic_write
from overcast.errors import OvercastError
from overcast.observe.alarm_specs import TemplateAlarm, alarm_from_properties

FILE = "alarms.json"
_NAME = re.compile(r"[^\x00-\x1f]{1,255}")


class AlarmBookError(OvercastError):
    """An alarm definition that cannot be stored or evaluated."""


class AlarmBook:
    """The platform's own alarms, by stage and name."""

    def __init__(self, state_dir: Path, stages: tuple[str, ...]) -> None:
        self.path = state_dir / FILE
        self._stages = stages
        self._raw: dict[str, dict[str, Any]] = {}
        self.alarms: dict[str, dict[str, TemplateAlarm]] = {}
        if self.path.exists():
            try:
                stored = json.loads(self.path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise AlarmBookError(f"{self.path} is not valid JSON: {exc}") from exc
            for item in stored.get("alarms", []):
                self._add(item)

    def put(self, body: Mapping[str, Any]) -> TemplateAlarm:
        """Add or replace an alarm; refuses what the template parser would refuse."""
        alarm = self._add(dict(body))
        self._save()
        return alarm

    def delete(self, name: str) -> None:
        if name not in self._raw:
            raise AlarmBookError(f"no alarm {name!r} defined on the platform")
        stage = self._raw.pop(name)["Stage"]
        self.alarms.get(stage, {}).pop(name, None)
        self._save()

    def _add(self, body: dict[str, Any]) -> TemplateAlarm:
        name = body.get("AlarmName")
        stage = body.get("Stage")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise AlarmBookError("AlarmName is required: 1 to 255 printable characters")
        if stage not in self._stages:
            raise AlarmBookError(
                f"alarm {name}: Stage must be one of the platform's stages {list(self._stages)}"
            )
        properties = {k: v for k, v in body.items() if k != "Stage"}
        try:
            alarm = alarm_from_properties(name, properties)
        except OvercastError as exc:
            raise AlarmBookError(str(exc), hint=exc.hint) from exc
        old = self._raw.get(name)
        if old is not None:
            self.alarms.get(old["Stage"], {}).pop(name, None)
        self._raw[name] = body
        self.alarms.setdefault(stage, {})[name] = alarm
        return alarm

    def _save(self) -> None:
        data = {"version": 1, "alarms": list(self._raw.values())}
        atomic_write(self.path, json.dumps(data, indent=2).encode())
