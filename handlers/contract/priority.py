"""A case's urgency, ordered by severity: P1 is the most severe."""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    """Stored and shown as its value ("P1"…"P4"); declared most severe first, so iterating or
    sorting lists the most severe first. Compare severities with :meth:`outranks`."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def severity(self) -> int:
        """4 for P1 down to 1 for P4: larger is more severe."""
        return len(Priority) - list(Priority).index(self)

    @property
    def urgent(self) -> bool:
        """P1 and P2 go to people at once, whatever the KB could say."""
        return self in (Priority.P1, Priority.P2)

    def outranks(self, other: str) -> bool:
        """Strictly more severe than ``other`` (a stored value is accepted)."""
        return self.severity > Priority(other).severity

    @classmethod
    def of(cls, value: str) -> Priority:
        """A stored value; an unknown one (a hand-edited row) counts as the least severe."""
        try:
            return cls(value)
        except ValueError:
            return cls.P4
