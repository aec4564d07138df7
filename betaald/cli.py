"""The `betaald` command: Django's management commands under one name.

`betaald demo`, `betaald calc ...`, `betaald migrate`, `betaald runserver`, `betaald db_worker`
and every other management command are available as `betaald <command>`.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaald.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:] if argv is None else argv
    execute_from_command_line(["betaald", *args])


if __name__ == "__main__":
    main()
