"""An agent's reply, written in Slack, rendered for the platform its creator is on.

Agents answer in a case's Slack thread, so their text arrives in Slack's encoding: ``&``, ``<``
and ``>`` as entities, and angle-bracket tokens for mentions (``<@U123>``, ``<#C1|general>``),
broadcasts (``<!channel>``, ``<!here>``), links (``<https://x|label>``) and dates. A creator must
read what the agent meant, never internal ids or entities, and never get a broadcast.

Pure functions, no SDK: every sender calls :func:`for_creator` on an agent's message.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from handlers.contract.messages import Platform

NameOf = Callable[[str], str | None]
_TOKEN = re.compile(r"<([^<>\n]*)>")
_BARE_MENTION = re.compile(r"<@([A-Z0-9]+)>")
_NOT_IN_A_LABEL = re.compile(r"[<>|&\n]")
_GONE = "\x00"  # where a token was dropped, until the spaces around it are tidied
_GONE_AT_EDGE = re.compile(rf"^[ \t]*{_GONE}+[ \t]*|[ \t]*{_GONE}+[ \t]*(?=[,.;:!?)]|$)", re.M)
_GONE_INSIDE = re.compile(rf"[ \t]*{_GONE}+[ \t]*")
# special mentions that notify many people; dropped wherever the text goes
_BROADCASTS = ("!channel", "!here", "!everyone", "!group", "!subteam^")
_URL_SCHEMES = ("http://", "https://", "mailto:", "tel:", "ftp://")


def for_creator(text: str, platform: Platform | str, *, name_of: NameOf | None = None) -> str:
    """``text`` as the creator on ``platform`` should read it.

    Slack: kept in Slack's encoding (it already is; escaping it again showed ``&amp;lt;``)
    minus broadcasts. Any other platform: plain text, with mentions as names (``name_of``
    resolves a user id; unknown ones vanish), links as "label (url)" and entities decoded.
    """
    text = text.replace(_GONE, "")
    if Platform(platform) is Platform.SLACK:
        return _tidy(_TOKEN.sub(_slack_token, text))
    return decode(_tidy(_TOKEN.sub(lambda m: _plain_token(m, name_of), text)))


def label_mentions(text: str, name_of: NameOf) -> str:
    """``<@U123>`` written as ``<@U123|Lucía>``, Slack's own labelled form, wherever the name
    is known: the stored text stays Slack's and means the same, and every platform it is
    rendered for can show the person instead of an id."""

    def labelled(match: re.Match[str]) -> str:
        name = _NOT_IN_A_LABEL.sub("", name_of(match.group(1)) or "").strip()
        return f"<@{match.group(1)}|{name}>" if name else match.group(0)

    return _BARE_MENTION.sub(labelled, text)


def decode(text: str) -> str:
    """Slack's three entities back to characters (``&amp;`` last, so ``&amp;lt;`` is ``&lt;``)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _slack_token(match: re.Match[str]) -> str:
    inner = match.group(1)
    return _GONE if inner.startswith(_BROADCASTS) else match.group(0)


def _plain_token(match: re.Match[str], name_of: NameOf | None) -> str:
    target, _, label = match.group(1).partition("|")
    if target.startswith(_BROADCASTS):
        return _GONE
    if target.startswith("@"):
        name = label or (name_of(target[1:]) if name_of else None)
        return name or _GONE
    if target.startswith("#"):
        return f"#{label}" if label else _GONE
    if target.startswith("!"):  # dates and other specials: Slack's own fallback text
        return label or _GONE
    if target.startswith(_URL_SCHEMES):
        return _link(target, label)
    return match.group(0)  # not a Slack token: agents' own angle brackets arrive as &lt;


def _link(url: str, label: str) -> str:
    shown = url.removeprefix("mailto:").removeprefix("tel:")
    if not label or label in {url, shown}:
        return shown
    return f"{label} ({shown})"


def _tidy(text: str) -> str:
    """No double space, no space before punctuation and no blank edge where a token was
    dropped; the rest of the agent's spacing (indented lines, code) is left alone."""
    return _GONE_INSIDE.sub(" ", _GONE_AT_EDGE.sub("", text)).strip()
