"""The shared metrics layer (docs/METRICS.md). Importing it imports every module of the package,
which registers every metric family and evaluation net: a new family or net is a new module and
nothing else. The families' run order follows their declared needs (evaluate.run_order);
`settings` comes last, since it assembles the `metrics` config node from the registered families.
"""

import importlib
import pkgutil

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "settings"):
    importlib.import_module(f"{__name__}.{_module}")
