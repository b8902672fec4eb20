from django import forms
from django.utils import timezone

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
