"""Matching a creator's message to KB articles: normalisation, words and meaning."""
