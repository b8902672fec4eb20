from rest_framework.permissions import BasePermission, DjangoModelPermissions


class StrictModelPermissions(DjangoModelPermissions):
    """Model permissions for every method, reads included.

    DRF's default lets any authenticated user read; an ERP user without the model's
    ``view`` permission must get 403 on GET as well.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


def permissions_required(*perms: str) -> type[BasePermission]:
    """A permission class for an endpoint that is not plain CRUD, e.g. a sales order's release action."""

    class PermissionsRequired(BasePermission):
        def has_permission(self, request, view):
            return bool(request.user and request.user.is_authenticated and request.user.has_perms(perms))

    PermissionsRequired.__qualname__ = f"PermissionsRequired({', '.join(perms)})"
    return PermissionsRequired
