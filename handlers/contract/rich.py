"""Replies the core structures and each platform renders: who to mention, what to emphasise.

The core writes no platform syntax; Slack turns a :class:`Mention` into ``<@U…>`` and a
figure's label into bold, another platform into whatever it uses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Mention:
    """A person to mention; None is nobody (no one on call, no owner)."""

    user: str | None


Value = str | int | float | Mention


@dataclass(frozen=True, slots=True)
class Line:
    """One catalog message and its values, formatted by the adapter in the reader's language."""

    key: str
    values: tuple[tuple[str, Value], ...] = ()

    @classmethod
    def of(cls, key: str, **values: Value) -> Line:
        return cls(key, tuple(values.items()))


@dataclass(frozen=True, slots=True)
class RichReply:
    lines: tuple[Line, ...]
    figures: tuple[tuple[str, str], ...] = ()  # (label, value): the label is emphasised
