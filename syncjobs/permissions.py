"""The integration's permissions, named once: pages and actions check these."""

MANAGE_CONNECTION = "syncjobs.manage_connection"
MANAGE_MAPPINGS = "syncjobs.manage_mappings"
VIEW_JOBS = "syncjobs.view_syncjob"
# Starting a job: synchronize now, couple and synchronize, create from Dynamics 365.
START_JOBS = "syncjobs.add_syncjob"
CHANGE_JOBS = "syncjobs.change_syncjob"
DELETE_JOBS = "syncjobs.delete_syncjob"
