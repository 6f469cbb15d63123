"""Shared helpers: localisation, text hygiene, privacy masking, UTC moments."""
