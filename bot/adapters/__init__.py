"""Thin translators between chat platforms and :mod:`handlers.contract.messages`."""
