"""Protocols for everything outside the core, spoken in domain types only."""
