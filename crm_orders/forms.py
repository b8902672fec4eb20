from django import forms

from crm_orders.fields import LINE_FIELDS, ORDER_FIELDS
from syncjobs.models import CrmConnection


class AutomaticCreationForm(forms.ModelForm):
    class Meta:
        model = CrmConnection
        fields = ["auto_create_sales_orders", "sales_order_interval_minutes"]
        labels = {
            "auto_create_sales_orders": "Create sales orders automatically",
            "sales_order_interval_minutes": "Look for submitted orders every (minutes)",
        }
        help_texts = {
            "auto_create_sales_orders": "The scheduler creates ERP orders from the orders submitted in Dynamics 365.",
        }


class CopiedFieldsForm(forms.Form):
    """The values of a Dynamics 365 order the ERP takes over: ticked ones are copied."""

    order_fields = forms.MultipleChoiceField(
        label="From the order", choices=ORDER_FIELDS.items(), required=False, widget=forms.CheckboxSelectMultiple
    )
    line_fields = forms.MultipleChoiceField(
        label="From its lines", choices=LINE_FIELDS.items(), required=False, widget=forms.CheckboxSelectMultiple
    )

    @classmethod
    def for_connection(cls, connection: CrmConnection, data=None) -> "CopiedFieldsForm":
        left_out = set(connection.sales_order_fields_left_out)
        initial = {
            "order_fields": [key for key in ORDER_FIELDS if key not in left_out],
            "line_fields": [key for key in LINE_FIELDS if key not in left_out],
        }
        return cls(data, initial=initial)

    def left_out(self) -> list[str]:
        chosen = {*self.cleaned_data["order_fields"], *self.cleaned_data["line_fields"]}
        return [key for key in (*ORDER_FIELDS, *LINE_FIELDS) if key not in chosen]
