from django.apps import AppConfig


class SyncjobsConfig(AppConfig):
    name = "syncjobs"
    verbose_name = "CRM synchronization"

    def ready(self):
        from syncjobs import jobs, matching
        from syncjobs.coupling_ui.registration import register_detail_extensions, register_list_extensions
        from syncjobs.models import SyncJob

        jobs.JOB_HANDLERS[SyncJob.Kind.COUPLING] = matching.run_coupling
        register_list_extensions()
        register_detail_extensions()
