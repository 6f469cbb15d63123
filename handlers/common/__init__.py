"""Shared helpers: localisation, text hygiene, privacy masking."""
