from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from setup_wizard.services import ITEM_AVAILABILITY_USERNAME, MAX_SYNCHRONIZATION_INTERVAL_MINUTES
from syncjobs.models import CrmConnection

SECRET_SET_PLACEHOLDER = "set — replace"


class SecretTextarea(forms.Textarea):
    """A textarea that never renders a value: a pasted private key is not sent back to the browser."""

    def format_value(self, value):
        return None


class CrmConnectionForm(forms.Form):
    server_url = forms.CharField(
        label="Server URL",
        max_length=250,
        help_text="The organization's URL, e.g. https://contoso.crm4.dynamics.com.",
    )
    authority_url = forms.CharField(
        label="Authority (tenant) URL",
        max_length=250,
        help_text="For Microsoft Entra ID: https://login.microsoftonline.com/&lt;tenant id&gt;.",
    )
    auth_type = forms.ChoiceField(
        label="Authentication", choices=CrmConnection.AuthType.choices, widget=forms.RadioSelect
    )
    client_id = forms.CharField(
        label="Client id", max_length=100, help_text="The app registration's Application (client) ID."
    )
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The secret's Value (not its Secret ID). Stored encrypted and never shown again.",
    )
    certificate_pem = forms.CharField(
        label="Certificate (PEM)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "font-monospace"}),
        help_text="For certificate authentication: the certificate uploaded to the app registration.",
    )
    certificate_private_key_pem = forms.CharField(
        label="Certificate private key (PEM)",
        required=False,
        widget=SecretTextarea(attrs={"rows": 3, "class": "font-monospace", "autocomplete": "off"}),
        help_text="Unencrypted PEM. Stored encrypted and never shown again.",
    )
    ca_bundle_pem = forms.CharField(
        label="CA bundle (PEM, optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "font-monospace"}),
        help_text="Only when the CRM's certificate comes from a private certificate authority: that authority's "
        "certificate(s).",
    )

    def __init__(self, *args, connection: CrmConnection, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "server_url": connection.server_url,
                "authority_url": connection.authority_url,
                "auth_type": connection.auth_type,
                "client_id": connection.client_id,
                "certificate_pem": connection.certificate_pem,
                "ca_bundle_pem": connection.ca_bundle_pem,
            },
        )
        super().__init__(*args, **kwargs)
        if connection.has_client_secret:
            self.fields["client_secret"].widget.attrs["placeholder"] = SECRET_SET_PLACEHOLDER
            self.fields["client_secret"].help_text = "Set. Leave blank to keep it, or enter a new secret to replace it."
        if connection.has_certificate_key:
            self.fields["certificate_private_key_pem"].widget.attrs["placeholder"] = SECRET_SET_PLACEHOLDER
            self.fields[
                "certificate_private_key_pem"
            ].help_text = "Set. Leave blank to keep it, or paste a new key to replace it."
        if connection.is_enabled:
            for field in self.fields.values():
                field.disabled = True


class AccessKeyForm(forms.Form):
    expires_on = forms.DateField(
        label="Expires after (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for a key that does not expire. The key stops working at the end of this day.",
    )

    def clean_expires_on(self):
        value = self.cleaned_data["expires_on"]
        if value is not None and value < timezone.localdate():
            raise forms.ValidationError("Choose today or a later date.")
        return value


class SolutionImportForm(forms.Form):
    """A CRM administrator's sign-in, used for one import and never stored (the password is never rendered)."""

    admin_username = forms.CharField(
        label="CRM administrator user name",
        max_length=250,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="A user holding both System Administrator and System Customizer.",
    )
    admin_password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Used for this import only: it is not saved anywhere.",
    )


def _active_users():
    return get_user_model().objects.filter(is_active=True).order_by("username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        full_name = obj.get_full_name()
        return f"{obj.get_username()} ({full_name})" if full_name else obj.get_username()


class FeaturesForm(forms.Form):
    item_availability_enabled = forms.BooleanField(label="The CRM shows the ERP's item availability", required=False)
    item_availability_user = UserChoiceField(
        label="ERP user the CRM signs in as",
        queryset=_active_users(),
        required=False,
        empty_label=f"A dedicated user, {ITEM_AVAILABILITY_USERNAME} (may only view items)",
        help_text="The CRM reads item availability with this user's web service access key.",
    )
    odata_url = forms.CharField(
        label="The ERP's OData address, as the CRM reaches it",
        max_length=400,
        required=False,
        help_text="The root of the ERP's OData service (…/odata/v4/); the CRM reads ProductItemAvailability there.",
    )
    sales_order_integration_enabled = forms.BooleanField(
        label="Orders submitted in Dynamics 365 become ERP sales orders", required=False
    )
    sales_order_mode = forms.ChoiceField(
        label="How",
        required=False,
        choices=CrmConnection.SalesOrderMode.choices,
        initial=CrmConnection.SalesOrderMode.ONE_WAY,
        widget=forms.RadioSelect,
        help_text="One way is Business Central's sales order integration: submitted orders are read-only in Dynamics "
        "365 and the ERP prices them. Both ways is its bidirectional sales orders: a change on either side goes to "
        "the other (a change in Dynamics 365 reopens the ERP order, updates its lines and releases it again).",
    )
    sales_order_processing_user = UserChoiceField(
        label="ERP user who processes the orders", queryset=_active_users(), required=False
    )
    synchronization_interval_minutes = forms.IntegerField(
        label="Synchronize every (minutes)", min_value=1, max_value=MAX_SYNCHRONIZATION_INTERVAL_MINUTES
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("item_availability_enabled") and not (cleaned.get("odata_url") or "").strip():
            self.add_error("odata_url", "Enter the address the CRM reaches the ERP's OData service at.")
        cleaned["sales_order_mode"] = cleaned.get("sales_order_mode") or CrmConnection.SalesOrderMode.ONE_WAY
        if cleaned.get("sales_order_integration_enabled") and cleaned.get("sales_order_processing_user") is None:
            self.add_error("sales_order_processing_user", "Choose the ERP user who processes the orders.")
        return cleaned


class SynchronizationForm(forms.Form):
    mappings = forms.MultipleChoiceField(label="Synchronize", required=False, widget=forms.CheckboxSelectMultiple)
    full_synchronization = forms.BooleanField(
        label="Run a full synchronization when the setup is finished", required=False
    )

    def __init__(self, *args, mappings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mappings"].choices = [(mapping.name, mapping.title) for mapping in mappings]
