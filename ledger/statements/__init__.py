"""Sponsor statements: built from the funds' raw events, rendered as JSON, CSV, XLSX or PDF,
in Vietnamese or English."""
