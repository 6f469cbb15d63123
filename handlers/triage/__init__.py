"""Risk triage: priority and category for every message, reasons, safety replies."""
