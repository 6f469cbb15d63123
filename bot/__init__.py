"""Puente's edge: configuration, wiring, the command line and the chat adapters."""
