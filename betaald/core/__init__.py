"""The pure calculation core of betaald.

Standard library only: no Django, no I/O, no clock, no settings. Every function takes what it
needs as arguments (today's date, rate tables, policies) and returns values or raises a
`betaald.core.errors.DomainError`. An import-linter contract enforces this.
"""
