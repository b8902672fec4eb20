"""Writes to the ERP, modelled on Dynamics NAV.

Every function takes keyword-only arguments and raises ``ValidationError`` (field-keyed where a
field is to blame) on bad input, inside a transaction so that a refusal changes nothing.
"""

import datetime
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Max, ProtectedError
from django.utils import timezone

from erp import selectors, signals
from erp.models import (
    ZERO,
    Contact,
    CustLedgerEntry,
    Customer,
    Item,
    ItemLedgerEntry,
    NoSeries,
    Resource,
    SalesHeader,
    SalesInvoiceHeader,
    SalesInvoiceLine,
    SalesLine,
)

CENT = Decimal("0.01")
LINE_NO_STEP = 10000
NUMBER_SERIES_BY_MODEL: dict[type[models.Model], str] = {
    Customer: "CUST",
    Contact: "CONT",
    Item: "ITEM",
    Resource: "RES",
    SalesHeader: "SO",
}
NUMBER_FIELD_MAX_LENGTH = 20

RecordT = TypeVar("RecordT", bound=models.Model)


def round_amount(value: Decimal) -> Decimal:
    """NAV rounds amounts to the nearest cent, halves away from zero."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --- Number series -------------------------------------------------------------------------


def no_series_reserve(*, series_code: str, count: int) -> list[str]:
    """Draw ``count`` consecutive numbers from the series with one atomic update.

    The row lock (PostgreSQL) or the IMMEDIATE write transaction (SQLite) serialises
    concurrent callers; the ``F()`` update never reads a stale counter either way.
    """
    if count < 1:
        raise ValidationError({"count": "Reserve at least one number."})
    with transaction.atomic():
        try:
            series = NoSeries.objects.select_for_update(of=("self",)).get(code=series_code)
        except NoSeries.DoesNotExist:
            raise ValidationError(
                {"no": f"There is no number series {series_code}. Create it or enter a number yourself."}
            ) from None
        NoSeries.objects.filter(pk=series.pk).update(last_number=F("last_number") + F("increment_by") * count)
        series.refresh_from_db(fields=["last_number"])
        first = series.last_number - series.increment_by * (count - 1)
        numbers = [series.format(first + series.increment_by * i) for i in range(count)]
        if len(numbers[-1]) > NUMBER_FIELD_MAX_LENGTH:
            raise ValidationError(
                {"no": f"Number series {series_code} has run past {NUMBER_FIELD_MAX_LENGTH} characters."}
            )
        return numbers


def no_series_next(*, series_code: str) -> str:
    return no_series_reserve(series_code=series_code, count=1)[0]


def _number_for(model: type[models.Model]) -> str:
    """The next number of the model's series that no record uses yet (a user may have typed it)."""
    series_code = NUMBER_SERIES_BY_MODEL[model]
    while True:
        candidate = no_series_next(series_code=series_code)
        if not model.objects.filter(no=candidate).exists():
            return candidate


# --- Generic create/update/delete -----------------------------------------------------------


def record_save(*, instance: RecordT) -> RecordT:
    """Create or update any ERP record: number from its series when blank, full_clean(), save().

    Sales lines and sales order headers follow their own rules, so they are routed to them.
    """
    if isinstance(instance, SalesLine):
        return sales_line_save(line=instance)
    if isinstance(instance, ItemLedgerEntry):
        if instance.pk:
            raise ValidationError("Item ledger entries cannot be changed; post a correcting entry instead.")
        return item_ledger_post(
            item=instance.item,
            entry_type=instance.entry_type,
            quantity=instance.quantity,
            posting_date=instance.posting_date,
            document_no=instance.document_no,
            description=instance.description,
        )
    if isinstance(instance, SalesHeader):
        if not instance.pk and instance.sell_to_customer_id:
            _check_customer_may_order(instance.sell_to_customer)
        else:
            _check_header_update(instance)
    with transaction.atomic():
        assigned = _assign_number(instance)
        try:
            instance.full_clean()
            instance.save()
        except Exception:
            if assigned:
                instance.no = ""
            raise
    return instance


def _assign_number(instance) -> bool:
    model = type(instance)
    if model in NUMBER_SERIES_BY_MODEL and not (instance.no or "").strip():
        instance.no = _number_for(model)
        return True
    for key in ("no", "code"):
        value = getattr(instance, key, None)
        if isinstance(value, str):
            setattr(instance, key, value.strip().upper())
    return False


def _check_header_update(order: SalesHeader) -> None:
    stored = SalesHeader.objects.get(pk=order.pk)
    if order.status != stored.status:
        raise ValidationError({"status": "Release or reopen the order with its actions, not by editing the status."})
    if stored.status == SalesHeader.Status.RELEASED:
        raise ValidationError(f"Sales order {stored.no} is released; reopen it to change it.")
    if stored.status == SalesHeader.Status.CLOSED:
        raise ValidationError(f"Sales order {stored.no} is fully invoiced and closed; it cannot change.")
    if order.sell_to_customer_id != stored.sell_to_customer_id:
        if stored.lines.filter(quantity_shipped__gt=0).exists():
            raise ValidationError(
                {"sell_to_customer": "The order has shipped lines; its customer can no longer change."}
            )
        _check_customer_may_order(order.sell_to_customer)


def record_delete(*, instance) -> None:
    """Delete a record; a record still in use is refused with the names of what uses it."""
    if isinstance(instance, SalesLine):
        sales_line_delete(line=instance)
        return
    if isinstance(instance, ItemLedgerEntry):
        raise ValidationError("Item ledger entries cannot be deleted; post a correcting entry instead.")
    if isinstance(instance, SalesHeader) and instance.lines.filter(quantity_shipped__gt=0).exists():
        raise ValidationError(f"Sales order {instance.no} has shipped lines and cannot be deleted.")
    try:
        with transaction.atomic():
            instance.delete()
    except ProtectedError as error:
        raise ValidationError(_in_use_message(instance, error.protected_objects)) from None


def _in_use_message(instance, users) -> str:
    by_kind = defaultdict(list)
    for user in users:
        by_kind[user._meta.verbose_name_plural].append(str(user))
    parts = []
    for kind, names in sorted(by_kind.items()):
        shown = ", ".join(sorted(names)[:3])
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        parts.append(f"{len(names)} {kind} ({shown}{more})")
    return f"{instance._meta.verbose_name.capitalize()} {instance} cannot be deleted: it is used by {'; '.join(parts)}."


# --- Sales orders ----------------------------------------------------------------------------


def contacts_numbered() -> bool:
    """Whether new contacts get a number (their series exists)."""
    return NoSeries.objects.filter(code=NUMBER_SERIES_BY_MODEL[Contact]).exists()


def customer_company_contact_create(*, customer: Customer) -> Contact:
    """The company contact that is ``customer`` (NAV's business relation), with its name and address: the one
    its persons are filed under, as Business Central creates for a new customer. Its existing one, if any."""
    existing = customer.company_contacts.filter(type=Contact.Type.COMPANY).order_by("pk").first()
    if existing is not None:
        return existing
    contact = Contact(
        type=Contact.Type.COMPANY,
        customer=customer,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        address=customer.address,
        post_code=customer.post_code,
        city=customer.city,
        country=customer.country,
    )
    return record_save(instance=contact)


def _check_customer_may_order(customer: Customer) -> None:
    if customer.blocked == Customer.Blocked.ALL:
        raise ValidationError(
            {
                "sell_to_customer": f"Customer {customer.no} is blocked for all transactions; "
                "no new order can be created."
            }
        )


def sales_order_create(*, sell_to_customer: Customer, order_date: datetime.date | None = None, **fields) -> SalesHeader:
    """A new open order; currency, salesperson and terms come from the customer unless given."""
    if fields.get("status", SalesHeader.Status.OPEN) != SalesHeader.Status.OPEN:
        raise ValidationError({"status": "A new order is open; release it afterwards."})
    fields.setdefault("currency", sell_to_customer.currency)  # None given is the local currency
    fields.setdefault("salesperson", sell_to_customer.salesperson)
    for name in ("payment_terms", "shipment_method", "shipping_agent"):
        if fields.get(name) is None:
            fields[name] = getattr(sell_to_customer, name)
    order = SalesHeader(sell_to_customer=sell_to_customer, order_date=order_date or timezone.localdate(), **fields)
    return record_save(instance=order)


def _lock_open_order(order_id: int) -> SalesHeader:
    order = SalesHeader.objects.select_for_update(of=("self",)).select_related("sell_to_customer").get(pk=order_id)
    if order.status == SalesHeader.Status.CLOSED:
        raise ValidationError(f"Sales order {order.no} is fully invoiced and closed; its lines cannot change.")
    if order.status != SalesHeader.Status.OPEN:
        raise ValidationError(f"Sales order {order.no} is released; reopen it to change its lines.")
    return order


def sales_line_save(
    *, line: SalesLine, discount_amount: Decimal | None = None, keep_unit_price: bool = False
) -> SalesLine:
    """Create or update a line of an open order.

    Like NAV's field validation: choosing an item or resource fills in its description, unit of
    measure and price (best sales price for items); a changed quantity or unit fetches the price
    again unless the price itself was changed (or ``keep_unit_price``: the price comes from an order
    that was priced elsewhere, even a price of 0). Amounts are rounded to cents. A ``discount_amount``
    (an order from Dynamics 365 carries amounts, not percentages) is kept as given, and the
    line discount % shown is derived from it.
    """
    with transaction.atomic():
        if not line.order_id:
            raise ValidationError({"order": "A sales line belongs to an order."})
        order = _lock_open_order(line.order_id)
        stored = SalesLine.objects.select_for_update(of=("self",)).get(pk=line.pk) if line.pk else None
        if stored and stored.order_id != line.order_id:
            raise ValidationError({"order": "A line cannot move to another order."})
        _prepare_line(line, stored, order, discount_amount=discount_amount, keep_unit_price=keep_unit_price)
        if not line.line_no:
            last = order.lines.aggregate(last=Max("line_no"))["last"] or 0
            line.line_no = last + LINE_NO_STEP
        line.full_clean()
        line.save()
    return line


def sales_lines_create(
    *, order: SalesHeader, lines: list[tuple[SalesLine, Decimal | None]], keep_unit_price: bool = False
) -> list[SalesLine]:
    """New lines of an open order at once, each with its discount amount (or None), as ``sales_line_save`` would
    add them one by one, in a handful of statements: the order is locked and numbered once, and the lines written
    with one INSERT. Their item, resource and unit are records already loaded (not ids from a form), so their
    existence is not asked again."""
    with transaction.atomic():
        locked = _lock_open_order(order.pk)
        last = locked.lines.aggregate(last=Max("line_no"))["last"] or 0
        for position, (line, discount_amount) in enumerate(lines, start=1):
            line.order = locked
            _prepare_line(line, None, locked, discount_amount=discount_amount, keep_unit_price=keep_unit_price)
            line.line_no = last + position * LINE_NO_STEP
            line.full_clean(
                exclude=["order", "item", "resource", "unit_of_measure"],
                validate_unique=False,
                validate_constraints=False,
            )
        return SalesLine.objects.bulk_create([line for line, _ in lines])


def _prepare_line(
    line: SalesLine, stored: SalesLine | None, order: SalesHeader, *, discount_amount, keep_unit_price: bool
) -> None:
    """What saving a line decides: the checks on its item or resource, its defaults and price, its amounts."""
    _check_line_target(line, stored)
    _fill_line_defaults(line, stored, order, keep_unit_price=keep_unit_price)
    gross = round_amount(line.quantity * line.unit_price)
    if discount_amount is None:
        line.line_discount_amount = round_amount(gross * line.line_discount_pct / 100)
    else:
        line.line_discount_amount = _given_discount(round_amount(discount_amount), gross)
        line.line_discount_pct = (line.line_discount_amount * 100 / gross).quantize(CENT) if gross else ZERO
    line.line_amount = gross - line.line_discount_amount


def _given_discount(discount: Decimal, gross: Decimal) -> Decimal:
    if discount < 0:
        raise ValidationError({"line_discount_amount": "A line discount cannot be negative."})
    if discount > gross:
        raise ValidationError(
            {"line_discount_amount": f"The line discount {discount} is more than the line's amount {gross}."}
        )
    return discount


def _check_line_target(line: SalesLine, stored: SalesLine | None) -> None:
    for name in ("quantity", "unit_price", "line_discount_pct"):
        value = getattr(line, name)
        if value is not None and value < 0:
            raise ValidationError({name: "Must not be negative."})
    if line.type == SalesLine.Type.ITEM and line.item_id and line.item.blocked:
        raise ValidationError({"item": f"Item {line.item.no} is blocked."})
    if line.type == SalesLine.Type.RESOURCE and line.resource_id and line.resource.blocked:
        raise ValidationError({"resource": f"Resource {line.resource.no} is blocked."})
    if stored and stored.quantity_shipped:
        if (line.type, line.item_id, line.resource_id) != (stored.type, stored.item_id, stored.resource_id):
            raise ValidationError({"type": "The line has been shipped; its type and number can no longer change."})
        if line.unit_of_measure_id != stored.unit_of_measure_id:
            raise ValidationError({"unit_of_measure": "The line has been shipped; its unit can no longer change."})
    line.quantity_shipped = stored.quantity_shipped if stored else ZERO
    line.quantity_invoiced = stored.quantity_invoiced if stored else ZERO


def _fill_line_defaults(line: SalesLine, stored: SalesLine | None, order: SalesHeader, *, keep_unit_price=False):
    if line.type == SalesLine.Type.COMMENT:
        line.unit_of_measure = None
        line.qty_per_unit_of_measure = Decimal(1)
        return
    target = line.item if line.type == SalesLine.Type.ITEM else line.resource
    if target is None:
        return  # full_clean() names the missing item/resource
    target_changed = stored is None or (stored.item_id, stored.resource_id) != (line.item_id, line.resource_id)
    if target_changed:
        if stored is not None or not line.description:
            line.description = target.description if line.type == SalesLine.Type.ITEM else target.name
        if stored is not None or not line.unit_of_measure_id:
            line.unit_of_measure = target.base_unit_of_measure
    elif not line.unit_of_measure_id:
        line.unit_of_measure = target.base_unit_of_measure
    if line.type == SalesLine.Type.ITEM:
        qty_per_unit = selectors.item_qty_per_unit(item=line.item, unit_of_measure=line.unit_of_measure)
        if qty_per_unit is None:
            raise ValidationError(
                {"unit_of_measure": f"{line.unit_of_measure} is not a unit of measure of item {line.item.no}."}
            )
        line.qty_per_unit_of_measure = qty_per_unit
    else:
        line.qty_per_unit_of_measure = Decimal(1)
    price_entered = (stored is None and line.unit_price) or (
        stored is not None and line.unit_price != stored.unit_price
    )
    repriced = target_changed or (
        stored is not None
        and (line.quantity != stored.quantity or line.unit_of_measure_id != stored.unit_of_measure_id)
    )
    if repriced and not price_entered and not keep_unit_price:
        line.unit_price = _default_unit_price(line, order)


def _default_unit_price(line: SalesLine, order: SalesHeader) -> Decimal:
    """Best sales price in the order's currency; else the LCY price (sales price or card) converted."""
    if line.type == SalesLine.Type.RESOURCE:
        return _lcy_to_order_currency(line.resource.unit_price, order)
    price_args = {
        "item": line.item,
        "customer": order.sell_to_customer,
        "quantity": line.quantity or Decimal(1),
        "on_date": order.order_date,
        "unit_of_measure": line.unit_of_measure,
    }
    if order.currency_id and not selectors.currency_is_local(currency=order.currency):
        price = selectors.sales_price_best(currency=order.currency, **price_args)
        if price is not None:
            return price
    price = selectors.sales_price_best(currency=None, **price_args)
    if price is None:
        price = round_amount(line.item.unit_price * line.qty_per_unit_of_measure)
    return _lcy_to_order_currency(price, order)


def _lcy_to_order_currency(amount_lcy: Decimal, order: SalesHeader) -> Decimal:
    if not order.currency_id or selectors.currency_is_local(currency=order.currency):
        return amount_lcy
    rate = selectors.currency_exchange_rate(currency=order.currency, on_date=order.order_date)
    if rate is None:
        raise ValidationError(
            {"unit_price": f"There is no exchange rate for {order.currency} on {order.order_date}; enter the price."}
        )
    return round_amount(amount_lcy / rate)


def sales_line_delete(*, line: SalesLine) -> None:
    with transaction.atomic():
        _lock_open_order(line.order_id)
        stored = SalesLine.objects.select_for_update(of=("self",)).get(pk=line.pk)
        if stored.quantity_shipped:
            raise ValidationError(f"Line {stored.line_no} has been shipped and cannot be deleted.")
        stored.delete()


def sales_order_release(*, order: SalesHeader) -> SalesHeader:
    """Release an open order (NAV: the order is complete and ready for the warehouse)."""
    with transaction.atomic():
        locked = SalesHeader.objects.select_for_update(of=("self",)).select_related("sell_to_customer").get(pk=order.pk)
        if locked.status == SalesHeader.Status.RELEASED:
            return locked
        if locked.status == SalesHeader.Status.CLOSED:
            raise ValidationError(f"Sales order {locked.no} is fully invoiced and closed.")
        if locked.sell_to_customer.blocked == Customer.Blocked.ALL:
            raise ValidationError(f"Customer {locked.sell_to_customer.no} is blocked for all transactions.")
        if not locked.lines.exclude(type=SalesLine.Type.COMMENT).filter(quantity__gt=0).exists():
            raise ValidationError(
                f"There is nothing to release for sales order {locked.no}: add a line with a quantity."
            )
        locked.status = SalesHeader.Status.RELEASED
        locked.save(update_fields=["status", "modified_at"])
        signals.sales_order_released.send(sender=SalesHeader, order=locked)
    return locked


def sales_order_reopen(*, order: SalesHeader) -> SalesHeader:
    with transaction.atomic():
        locked = SalesHeader.objects.select_for_update(of=("self",)).get(pk=order.pk)
        if locked.status == SalesHeader.Status.CLOSED:
            raise ValidationError(f"Sales order {locked.no} is fully invoiced and closed; it cannot be reopened.")
        if locked.status != SalesHeader.Status.OPEN:
            locked.status = SalesHeader.Status.OPEN
            locked.save(update_fields=["status", "modified_at"])
    return locked


def sales_order_post_shipment(
    *, order: SalesHeader, posting_date: datetime.date | None = None
) -> list[ItemLedgerEntry]:
    """Ship every outstanding quantity: item lines write negative Sale entries; quantity shipped rises.

    All or nothing: one transaction; an open order is released first.
    """
    posting_date = posting_date or timezone.localdate()
    with transaction.atomic():
        locked = SalesHeader.objects.select_for_update(of=("self",)).select_related("sell_to_customer").get(pk=order.pk)
        customer = locked.sell_to_customer
        if customer.blocked in (Customer.Blocked.SHIP, Customer.Blocked.ALL):
            raise ValidationError(f"Customer {customer.no} is blocked for shipping; the order cannot be shipped.")
        if locked.status == SalesHeader.Status.OPEN:
            locked = sales_order_release(order=locked)
        lines = list(
            locked.lines.select_for_update(of=("self",))
            .exclude(type=SalesLine.Type.COMMENT)
            .filter(quantity__gt=F("quantity_shipped"))
            .select_related("item")
        )
        if not lines:
            raise ValidationError(f"There is nothing to ship on sales order {locked.no}.")
        entries = []
        now = timezone.now()
        for line in lines:
            if line.type == SalesLine.Type.ITEM:
                if line.item.blocked:
                    raise ValidationError(f"Item {line.item.no} on line {line.line_no} is blocked.")
                entry = ItemLedgerEntry(
                    item=line.item,
                    posting_date=posting_date,
                    entry_type=ItemLedgerEntry.EntryType.SALE,
                    document_no=locked.no,
                    description=line.description,
                    quantity=-line.outstanding_quantity_base,
                    sales_line=line,
                )
                entry.full_clean()
                entry.save()
                entries.append(entry)
            line.quantity_shipped = line.quantity
            line.modified_at = now
        SalesLine.objects.bulk_update(lines, ["quantity_shipped", "modified_at"])
        signals.sales_shipment_posted.send(sender=SalesHeader, order=locked)
    return entries


# --- Invoicing ---------------------------------------------------------------------------------


def sales_order_post_invoice(
    *,
    order: SalesHeader,
    posting_date: datetime.date | None = None,
    quantities: dict[int, Decimal] | None = None,
) -> SalesInvoiceHeader:
    """Invoice what was shipped and not yet invoiced (or, per line no., the ``quantities`` given).

    Writes a posted sales invoice (number from the sales setup's series, the order's references and
    currency carried over) and the customer ledger entry it leaves open (due date from the customer's
    payment terms), and raises the lines' quantity invoiced. A fully shipped and invoiced order is
    closed: kept, read-only, as an archived order. All or nothing: one transaction.
    """
    posting_date = posting_date or timezone.localdate()
    with transaction.atomic():
        locked = (
            SalesHeader.objects.select_for_update(of=("self",))
            .select_related("payment_terms", "sell_to_customer__payment_terms")
            .get(pk=order.pk)
        )
        customer = locked.sell_to_customer
        if locked.status == SalesHeader.Status.CLOSED:
            raise ValidationError(f"Sales order {locked.no} is fully invoiced and closed.")
        if customer.blocked in (Customer.Blocked.INVOICE, Customer.Blocked.ALL):
            raise ValidationError(f"Customer {customer.no} is blocked for invoicing; the order cannot be invoiced.")
        lines = list(
            locked.lines.select_for_update(of=("self",))
            .exclude(type=SalesLine.Type.COMMENT)
            .select_related("item", "resource", "unit_of_measure")
        )
        to_invoice = _quantities_to_invoice(locked, lines, quantities)
        if not to_invoice:
            raise ValidationError(
                f"There is nothing to invoice on sales order {locked.no}: post a shipment of its lines first."
            )
        terms = locked.payment_terms or customer.payment_terms
        due_days = terms.due_date_days if terms else 0
        invoice = SalesInvoiceHeader(
            no=no_series_next(series_code=selectors.sales_setup().posted_invoice_nos),
            order=locked,
            order_no=locked.no,
            sell_to_customer=customer,
            posting_date=posting_date,
            document_date=posting_date,
            due_date=posting_date + datetime.timedelta(days=due_days),
            currency=locked.currency,
            salesperson=locked.salesperson,
            your_reference=locked.your_reference,
            external_document_no=locked.external_document_no,
        )
        invoice.full_clean()
        invoice.save()
        invoice_lines = []
        now = timezone.now()
        for line, quantity in to_invoice:
            discount, amount = _invoiced_amounts(line, quantity)
            invoice_lines.append(
                SalesInvoiceLine(
                    invoice=invoice,
                    line_no=line.line_no,
                    order_line_no=line.line_no,
                    type=line.type,
                    item=line.item,
                    resource=line.resource,
                    description=line.description,
                    quantity=quantity,
                    unit_of_measure=line.unit_of_measure,
                    unit_price=line.unit_price,
                    line_discount_pct=line.line_discount_pct,
                    line_discount_amount=discount,
                    line_amount=amount,
                )
            )
            line.quantity_invoiced += quantity
            line.modified_at = now
        SalesInvoiceLine.objects.bulk_create(invoice_lines)
        SalesLine.objects.bulk_update([line for line, _ in to_invoice], ["quantity_invoiced", "modified_at"])
        invoice.amount = sum((line.line_amount for line in invoice_lines), ZERO)
        invoice.line_discount_amount = sum((line.line_discount_amount for line in invoice_lines), ZERO)
        invoice.save(update_fields=["amount", "line_discount_amount"])
        CustLedgerEntry.objects.create(
            customer=customer,
            posting_date=posting_date,
            document_type=CustLedgerEntry.DocumentType.INVOICE,
            document_no=invoice.no,
            description=f"Order {locked.no}",
            currency=locked.currency,
            amount=invoice.amount,
            remaining_amount=invoice.amount,
            due_date=invoice.due_date,
            open=invoice.amount != 0,
            sales_invoice=invoice,
        )
        if all(line.quantity_invoiced == line.quantity for line in lines):
            locked.status = SalesHeader.Status.CLOSED
            locked.save(update_fields=["status", "modified_at"])
        signals.sales_invoice_posted.send(sender=SalesHeader, order=locked, invoice=invoice)
    return invoice


def _quantities_to_invoice(
    order: SalesHeader, lines: list[SalesLine], quantities: dict[int, Decimal] | None
) -> list[tuple[SalesLine, Decimal]]:
    """(line, quantity) pairs with something to invoice; a quantity asked for must have been shipped."""
    by_no = {line.line_no: line for line in lines}
    if quantities is not None:
        unknown = sorted(set(quantities) - set(by_no))
        if unknown:
            raise ValidationError(
                {"quantities": f"Sales order {order.no} has no line {', '.join(str(no) for no in unknown)} to invoice."}
            )
    chosen = []
    for line in lines:
        shipped_not_invoiced = line.quantity_shipped - line.quantity_invoiced
        quantity = shipped_not_invoiced if quantities is None else Decimal(quantities.get(line.line_no, ZERO))
        if quantity < 0:
            raise ValidationError({"quantities": f"Line {line.line_no}: a quantity to invoice cannot be negative."})
        if quantity > shipped_not_invoiced:
            raise ValidationError(
                {
                    "quantities": f"Line {line.line_no}: {quantity.normalize():f} to invoice, but only "
                    f"{shipped_not_invoiced.normalize():f} shipped and not yet invoiced."
                }
            )
        if quantity:
            chosen.append((line, quantity))
    return chosen


def _invoiced_amounts(line: SalesLine, quantity: Decimal) -> tuple[Decimal, Decimal]:
    """(line discount amount, line amount) of invoicing ``quantity`` of the line.

    The last part of a line takes what is left of its amounts, so that the invoices of a line add up to it.
    """
    if line.quantity_invoiced + quantity == line.quantity:
        already = SalesInvoiceLine.objects.filter(invoice__order=line.order_id, order_line_no=line.line_no)
        totals = already.aggregate(discount=models.Sum("line_discount_amount"), amount=models.Sum("line_amount"))
        return (
            line.line_discount_amount - (totals["discount"] or ZERO),
            line.line_amount - (totals["amount"] or ZERO),
        )
    gross = round_amount(quantity * line.unit_price)
    discount = round_amount(gross * line.line_discount_pct / 100)
    return discount, gross - discount


# --- Item ledger ------------------------------------------------------------------------------


def item_ledger_post(
    *,
    item: Item,
    entry_type: str,
    quantity: Decimal,
    posting_date: datetime.date,
    document_no: str = "",
    description: str = "",
) -> ItemLedgerEntry:
    """Post one inventory movement (NAV item journal line): positive in, negative out."""
    if item.blocked:
        raise ValidationError({"item": f"Item {item.no} is blocked."})
    entry = ItemLedgerEntry(
        item=item,
        entry_type=entry_type,
        quantity=quantity,
        posting_date=posting_date,
        document_no=document_no,
        description=description,
    )
    entry.full_clean()
    entry.save()
    return entry
