"""Check that the ERP and Dynamics 365 agree, mapping by mapping.

    crm_verify [MAPPING ...] [--limit N] [--json]

Compares every coupled pair field by field (the mapped fields, with the values the synchronization
engine computes: transforms, lookups by coupled id, option values) and lists the differences,
the records and rows in the mappings' filters that are not coupled, couplings whose other side
no longer exists, and CRM rows coupled twice. Without MAPPING: every enabled record mapping, and the sales
orders from Dynamics 365 (SALES ORDERS: order number, customer, processing status, lines) when that integration is on.
Writes nothing. The exit status is 1 when anything differs (see ``syncjobs.engine.verification``).
"""

import json

import requests
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

import dataverse
from crm_orders import verification as order_verification
from syncjobs.connection import clients
from syncjobs.connection import selectors as connection_selectors
from syncjobs.engine import verification
from syncjobs.engine.verification import MappingVerification
from syncjobs.management.commands.crm_sync import format_table

COLUMNS = (
    "mapping",
    "checked",
    "same",
    "differing",
    "shortened",
    "uncoupled_erp",
    "uncoupled_crm",
    "dangling",
    "coupled_twice",
)
# (one, several) of each kind of finding.
TITLES = {
    "differences": ("difference", "differences"),
    "shortened": ("value the ERP holds shortened", "values the ERP holds shortened"),
    "uncoupled_erp": ("uncoupled ERP record", "uncoupled ERP records"),
    "uncoupled_crm": ("uncoupled Dynamics 365 row", "uncoupled Dynamics 365 rows"),
    "dangling": ("coupling whose other side is gone", "couplings whose other side is gone"),
    "coupled_twice": ("Dynamics 365 row coupled twice", "Dynamics 365 rows coupled twice"),
}


def _value(value) -> str:
    return "(empty)" if value is None else json.dumps(value, ensure_ascii=False)


def finding_line(kind: str, item: dict) -> str:
    """One finding as a line of text."""
    crm_row = f"{item.get('crm_entity', '')} {item.get('crm_id', '')}".strip()
    if kind in ("differences", "shortened"):
        pair = f"{item['erp_record']} ↔ {crm_row}"
        if item["field"] is None:
            return f"{pair}: {item['message']}"
        erp_side = f"constant {_value(item['constant'])}" if item["constant"] else f"ERP {item['erp_field']}"
        return (
            f"{pair}: {item['field']}: {erp_side} = {_value(item['erp_value'])}, "
            f"Dynamics 365 {item['crm_attribute']} = {_value(item['crm_value'])}"
        )
    if kind == "uncoupled_erp":
        return item["erp_record"]
    if kind == "uncoupled_crm":
        return f"{crm_row} {_value(item['crm_name'])}"
    if kind == "dangling":
        return f"{item['erp_record']} ↔ {crm_row}: {item['message']}"
    name = f" {_value(item['crm_name'])}" if item.get("crm_name") else ""
    return f"{crm_row}{name}: {item['message']}"


def _expected_note(result: MappingVerification, kind: str) -> str:
    """Why uncoupled records are not a problem, when they are not."""
    if kind == "shortened":
        return " (expected: too long for the ERP's field; Dynamics 365 keeps the full value)"
    if kind not in ("uncoupled_erp", "uncoupled_crm"):
        return ""
    if not (result.uncoupled_erp_expected if kind == "uncoupled_erp" else result.uncoupled_crm_expected):
        return ""
    if result.mapping.sync_only_coupled:
        return " (expected: synchronize only coupled records is on)"
    return f" (expected: the mapping synchronizes {result.mapping.get_direction_display().lower()} only)"


class Command(BaseCommand):
    help = (
        "Compare the ERP with Dynamics 365: every coupled pair field by field (mapped fields, after transforms), "
        "records and rows in the mappings' filters that are not coupled, couplings whose other side is gone, and "
        "Dynamics 365 rows coupled twice. Exit status 1 when anything differs. Uncoupled records count as a problem "
        "only when the mapping would synchronize them: with “synchronize only coupled records” on (or when the "
        "mapping only goes the other way) they are listed as expected. Pairs outside both filters are not compared."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "mappings",
            nargs="*",
            metavar="MAPPING",
            help="e.g. CUSTOMER or SALES ORDERS; default: every enabled mapping (and the orders when on).",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=verification.DEFAULT_LIMIT,
            help=f"How many findings of each kind to list per mapping (default {verification.DEFAULT_LIMIT}).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object (the last line) instead.")

    def handle(self, *args, **options):
        limit = options["limit"]
        if limit < 0:
            raise CommandError("--limit must be 0 or more.")
        names = [name for name in options["mappings"] if name.upper() != order_verification.NAME]
        # Sales orders: when named, or with every mapping when the integration is on.
        with_orders = len(names) < len(options["mappings"]) or (not names and self.orders_integrated())
        try:
            mappings = verification.verifiable_mappings(names=names) if names or not with_orders else []
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        try:
            with clients.crm_client() as client:
                results = [
                    verification.mapping_verify(mapping=mapping, client=client, limit=limit) for mapping in mappings
                ]
                if with_orders:
                    results.append(order_verification.orders_verify(client=client, limit=limit))
        except (clients.CrmNotConfigured, dataverse.DataverseError, requests.RequestException) as error:
            raise CommandError(f"Dynamics 365 could not be read: {error}") from None

        if options["json"]:
            report = {"ok": not any(r.has_problems for r in results), "mappings": [r.as_dict() for r in results]}
            self.stdout.write(json.dumps(report, ensure_ascii=False))
        else:
            self.write_report(results)
        troubled = [r.mapping.name for r in results if r.has_problems]
        if troubled:
            raise CommandError(f"The two sides differ: {', '.join(troubled)}.", returncode=1)

    @staticmethod
    def orders_integrated() -> bool:
        connection = connection_selectors.crm_connection_get()
        return connection.is_enabled and connection.sales_order_integration_enabled

    def write_report(self, results: list[MappingVerification]) -> None:
        rows = [(r.mapping.name, *(str(r.counts()[name]) for name in COLUMNS[1:])) for r in results]
        self.stdout.write(format_table(rows, COLUMNS))
        for result in results:
            for kind in MappingVerification.KINDS:
                findings = getattr(result, kind)
                if not findings.count:
                    continue
                title = TITLES[kind][0 if findings.count == 1 else 1]
                self.stdout.write(f"\n{result.mapping.name}: {findings.count} {title}{_expected_note(result, kind)}")
                for item in findings.items:
                    self.stdout.write(f"  {finding_line(kind, item)}")
                if findings.more:
                    self.stdout.write(f"  …and {findings.more} more")
            if result.outside_filters:
                pairs = "pair" if result.outside_filters == 1 else "pairs"
                verb = "was" if result.outside_filters == 1 else "were"
                self.stdout.write(
                    f"\n{result.mapping.name}: {result.outside_filters} coupled {pairs} outside both filters "
                    f"{verb} not compared."
                )
        if not any(r.has_problems for r in results):
            self.stdout.write("\nBoth sides agree.")
