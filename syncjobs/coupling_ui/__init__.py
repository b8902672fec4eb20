"""Coupling pages and list-page actions: couple, create new, synchronize now, decouple, match, create in ERP.

The ERP's list pages get a "Dynamics 365" column, a "Coupled" filter and bulk actions through
``nav_crm.ui``'s registry (registered in ``syncjobs.apps``); erp imports nothing of this package.
"""
