"""Storage: tables, engines, query functions and migrations."""
