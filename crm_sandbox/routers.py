class CrmSandboxRouter:
    """Keeps the CRM sandbox's tables in its own database and the ERP's out of it."""

    app_label = "crm_sandbox"
    db = "crm_sandbox"

    def db_for_read(self, model, **hints):
        return self.db if model._meta.app_label == self.app_label else None

    def db_for_write(self, model, **hints):
        return self.db if model._meta.app_label == self.app_label else None

    def allow_relation(self, obj1, obj2, **hints):
        in_sandbox = {obj1._meta.app_label == self.app_label, obj2._meta.app_label == self.app_label}
        return False if len(in_sandbox) == 2 else None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label == self.app_label:
            return db == self.db
        return db != self.db
