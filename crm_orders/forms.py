from django import forms

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
