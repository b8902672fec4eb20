"""A built wheel holds every app of the project (issue 14: it had no coupling app): each installed app that lives
in this repository is matched by pyproject.toml's package list."""

import fnmatch
import pathlib
import tomllib

from django.apps import apps

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_every_app_of_the_project_is_packaged():
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    ours = {
        config.name.split(".")[0] for config in apps.get_app_configs() if (ROOT / config.name.split(".")[0]).is_dir()
    }
    assert {"coupling", "syncjobs", "crm_orders", "erp"} <= ours
    assert sorted(name for name in ours if not any(fnmatch.fnmatch(name, pattern) for pattern in include)) == []
