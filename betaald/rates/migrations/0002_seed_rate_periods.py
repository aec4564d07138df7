"""Seed RatePeriod from the CSV files shipped in betaald/rates/data/ (the shared reference
tables of ../shared/reference/rates/, copied). Re-running never duplicates a row."""

from datetime import date
from decimal import Decimal
from pathlib import Path

from django.db import migrations

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
FILES = {"statutory": "wettelijke_rente.csv", "commercial": "handelsrente.csv"}


def seed(apps, schema_editor):
    RatePeriod = apps.get_model("rates", "RatePeriod")
    for kind, name in FILES.items():
        lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()[1:]
        for line in lines:
            if not line.strip():
                continue
            day, percent = (part.strip() for part in line.split(","))
            RatePeriod.objects.get_or_create(
                kind=kind,
                effective_from=date.fromisoformat(day),
                defaults={"rate_percent": Decimal(percent), "source": f"seeded from {name}"},
            )


def unseed(apps, schema_editor):
    RatePeriod = apps.get_model("rates", "RatePeriod")
    RatePeriod.objects.filter(source__startswith="seeded from ").delete()


class Migration(migrations.Migration):
    dependencies = [("rates", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
