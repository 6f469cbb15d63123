"""Where the live KB comes from: the KB file merged with articles imported into the database.

The matcher is rebuilt when the file's mtime or the database's articles change, so edits are
picked up without a restart; the checks are throttled to one per ``check_every`` seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from handlers.kb import variants
from handlers.kb.articles import KnowledgeBase
from handlers.kb.files import KbFormatError, read_kb_file
from handlers.kb.matching.matcher import Matcher, MatchPolicy
from handlers.kb.matching.semantic import SentenceEncoder
from handlers.storage import store

log = logging.getLogger(__name__)

SHIPPED_KB = Path(__file__).parent / "data" / "kb.csv"


class KbSource:
    def __init__(
        self,
        *,
        path: Path | None = SHIPPED_KB,
        engine: Engine | None = None,
        policy: MatchPolicy | None = None,
        encoder: SentenceEncoder | None = None,
        check_every: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.engine = engine
        self.policy = policy or MatchPolicy()
        self.encoder = encoder
        self.check_every = check_every
        self._clock = clock
        self._checked_at = float("-inf")
        self._version: tuple[object, ...] | None = None
        self._matcher: Matcher | None = None

    def matcher(self) -> Matcher:
        now = self._clock()
        if self._matcher is None or now - self._checked_at >= self.check_every:
            self._checked_at = now
            version = self._current_version()
            if self._matcher is None or version != self._version:
                self._reload(version)
        assert self._matcher is not None
        return self._matcher

    def embed_all(self) -> int:
        """Embed every question of the current KB into the cache; returns how many were new."""
        if self.encoder is None:
            return 0
        texts = [
            q for a in self._load().articles.values() for qs in a.questions.values() for q in qs
        ]
        new = self.encoder.missing(texts)
        self.encoder.encode_many(texts)
        self._matcher = None
        return new

    @property
    def kb(self) -> KnowledgeBase:
        return self.matcher().kb

    def _current_version(self) -> tuple[object, ...]:
        file_version = self.path.stat().st_mtime_ns if self.path and self.path.exists() else None
        db_version: object = None
        if self.engine is not None:
            with Session(self.engine) as session:
                db_version = (store.kb_version(session), variants.version(session))
        return (file_version, db_version)

    def _reload(self, version: tuple[object, ...]) -> None:
        try:
            kb = self._load()
        except KbFormatError as exc:
            if self._matcher is None:
                raise
            log.error("KB file has errors; keeping the previous KB: %s", exc)
            self._version = version
            return
        except FileNotFoundError:
            log.warning("KB file %s is missing; keeping the KB already loaded", self.path)
            if self._matcher is not None:
                self._version = version
                return
            kb = self._load(with_file=False)
        self._matcher = Matcher(kb, self.policy, self.encoder)
        self._version = version
        log.info("KB loaded: %d articles", len(kb))

    def _load(self, *, with_file: bool = True) -> KnowledgeBase:
        """The KB file merged with the database's published articles and approved variants."""
        rows = []
        if with_file and self.path is not None:
            if not self.path.exists():
                raise FileNotFoundError(self.path)
            rows = read_kb_file(self.path)
        kb = KnowledgeBase.from_rows(rows)
        if self.engine is not None:
            with Session(self.engine) as session:
                kb = kb.merged(store.published_articles(session))
                kb = variants.approved(session).applied_to(kb)
        return kb
