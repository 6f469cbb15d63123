"""Insights: facts, metrics, repeat complaints, the workbook, dashboard and telemetry."""
