"""Demo set-up of the parts beyond the ledger (dunning policies, bank account), when present."""

from __future__ import annotations

from importlib import import_module

from betaald.organisations.models import Organisation


def install_demo_extensions(organisation: Organisation) -> list[str]:
    """Install what the other apps offer for a new organisation; return what was installed."""
    installed = []
    hooks = [
        ("betaald.dunning.services", "dunning_policies_install_defaults"),
        ("betaald.letters.services", "templates_install_defaults"),
        ("betaald.bank.services", "bank_account_install_defaults"),
    ]
    for module_name, function_name in hooks:
        try:
            function = getattr(import_module(module_name), function_name)
        except (ImportError, AttributeError):
            continue
        function(organisation=organisation)
        installed.append(function_name)
    return installed
