"""Puente's core: decides what to answer, escalate or store. Knows no chat platform."""
