"""Every domain's error enum carries the shared codes, since mutations map codes by name."""

import importlib
import pkgutil
from enum import Enum

import backend

SHARED = {"GRAPHQL_ERROR", "INVALID", "NOT_FOUND", "REQUIRED", "PERMISSION_DENIED", "INVALID_TRANSITION"}


def domain_error_enums():
    for module_info in pkgutil.iter_modules(backend.__path__):
        try:
            module = importlib.import_module(f"backend.{module_info.name}.error_codes")
        except ModuleNotFoundError:
            continue
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Enum) and value.__name__.endswith("ErrorCode"):
                if value.__module__ == module.__name__ and value.__name__ not in ("CoreErrorCode", "UploadErrorCode"):
                    yield value


def test_domain_enums_carry_shared_codes():
    enums = list(domain_error_enums())
    assert len(enums) >= 2
    for enum in enums:
        missing = SHARED - set(enum.__members__)
        assert not missing, f"{enum.__name__} lacks {sorted(missing)}"
