"""Thin translators between chat platforms and :mod:`handlers.messages`."""
