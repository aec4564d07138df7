"""Demo set-up beyond the ledger: dunning policies, the bank account, mandates, holds, today's
bank statement and today's dunning run, so that a new user sees reminders, letters, call tasks,
the approval queue, the bank's review queue and the holds that pause dunning at once."""

from __future__ import annotations

from datetime import date

from betaald.bank.services import bank_account_add
from betaald.demo.activity import (
    install_handover,
    install_holds,
    install_mandates,
    install_statement,
)
from betaald.dunning.models import DunningRun
from betaald.dunning.services import dunning_policies_install_defaults, dunning_run
from betaald.organisations.models import Organisation


def install_demo_extensions(organisation: Organisation, *, today: date) -> DunningRun:
    """Idempotent: policies and the account are installed once; a second run of the same day
    adds nothing (the dunning run's unique keys)."""
    dunning_policies_install_defaults(organisation=organisation, actor="demo")
    bank_account_add(
        organisation=organisation, iban=organisation.iban, name="Zakelijke rekening", actor="demo"
    )
    install_mandates(organisation, today)
    install_holds(organisation, today)
    install_handover(organisation, today)
    install_statement(organisation, today)
    return dunning_run(today=today, organisation=organisation, actor="demo")
