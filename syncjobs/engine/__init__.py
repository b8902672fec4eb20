"""The synchronization engine: runs an integration table mapping between the ERP and Dynamics 365.

Module map: run (entry point, watermarks), to_crm / from_crm (the two directions), merge
(three-way merge per field), values (mapped values, transforms, lookups, option values),
writes (bulk writes with failure isolation), deletions (deletion policies), outcomes (coupling
bookkeeping and error rows), options (option mappings: ERP codes ↔ values of an option set),
context (what one run knows, counters).
"""

from syncjobs.engine.run import run_synchronization

__all__ = ["run_synchronization"]
