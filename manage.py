#!/usr/bin/env python
"""Django's command-line utility; `betaald` (betaald.cli) is the same entry point."""

from betaald.cli import main

if __name__ == "__main__":
    main()
