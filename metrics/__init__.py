"""The shared metrics layer (docs/METRICS.md). Importing it registers every metric family and
evaluation net: a new family or net is a new module plus one name in this import, in the order
families run (a family after those it `needs`)."""

from ganctrl.metrics import fidelity, clusters, exemplars, path_length, directions  # noqa: I001, F401
from ganctrl.metrics import disentanglement, trained_nets, inception  # noqa: I001, F401
