"""The integration solution package (NavCrmIntegration) that the setup imports into the CRM.

`definition` holds what the solution declares, as data; `build_package()` turns it into the
solution .zip Dataverse's ImportSolution takes (solution.xml, customizations.xml,
[Content_Types].xml), byte for byte the same on every run.
"""

from setup_wizard.solution.builder import build_package

__all__ = ["build_package"]
