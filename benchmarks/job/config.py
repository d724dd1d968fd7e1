"""Config schema and checks: a wrong key, type or value fails at start, naming the fix.

Two layers. The root keys (seed, paths, profile, generator, metrics — the last assembled by the
metrics layer from its families) are dataclasses registered in Hydra's ConfigStore, so OmegaConf
rejects unknown keys and bad types while composing. Every node with a `_target_` is checked
against the signature of the class it instantiates — the constructor is the schema, so the two
can never drift apart: unknown keys are named with the valid ones, and values are checked
against the parameter annotations (Literal options are listed).
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from dataclasses import dataclass, field, fields
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_object
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError

from ganctrl.metrics.settings import MetricsConfig

INSTANTIATE_KEYS = {"_target_", "_partial_", "_recursive_", "_convert_", "_args_"}


class ConfigError(ValueError):
    """A config value the harness cannot run with; the message says which and what would do."""


@dataclass
class PathsConfig:
    root: str = MISSING
    data: str = MISSING
    cache: str = MISSING
    output: str = MISSING


@dataclass
class GeneratorConfig:
    net: Any = MISSING  # the generator network (_target_: a backbone class)
    discriminator: Any = MISSING
    train: Any = MISSING  # the zoo's training recipe (_target_: UnconditionalGAN)
    seed: int = 0  # the generator's own seed, separate from the job seed
    checkpoint: str | None = None  # a user's own generator state_dict instead of the zoo's
    curve_every: int = 500  # FID/precision/recall every this many zoo iterations (0: none)


@dataclass
class ProfileConfig:
    """Which budget every method runs (its `${budget:{…}}` tables): set by `experiment=NAME`.

    `fallback`: the profile whose budget a method runs where its table has no entry for `name`;
    without one, a missing entry fails at start naming the method and the profile."""

    name: str = "paper"
    fallback: str | None = None


@dataclass
class RootConfig:
    data: Any = MISSING
    method: Any = MISSING
    trainer: Any = MISSING
    logger: Any = None
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    seed: int = 0
    threads: int | None = None  # CPU threads; None: torch's own count, written in at job start


def budget(table, *, _parent_, _root_):
    """`${budget:{smoke: 2, toy: 100, paper: 400}}`: the value for the run's profile.

    A method states its own budgets in its YAML, so a baseline inherits them through its
    `defaults`, and a profile that a method's table lacks is an error, not the paper budget."""
    if not isinstance(table, collections.abc.Mapping) or not table:
        raise ConfigError(f"budget takes a table {{profile: value, …}}, got {table!r}")
    profile = _root_.profile
    for name in (profile.name, profile.fallback):
        if name is not None and name in table:
            return table[name]
    fallback = f" nor for its fallback {profile.fallback!r}" if profile.fallback else ""
    raise ConfigError(
        f"{_parent_.get('_target_', 'this node')} has no budget for profile "
        f"{profile.name!r}{fallback} (it has {', '.join(map(str, table))}): add "
        f"`{profile.name}: …` to its budget table, or give the profile a fallback"
    )


def register_schema() -> None:
    """The root schema and the `budget` resolver; call before composing the config."""
    ConfigStore.instance().store(name="ganctrl_schema", node=RootConfig)
    OmegaConf.register_new_resolver("budget", budget, replace=True)


def _type_name(hint) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(hint))
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _matches(value, hint) -> bool:
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple, collections.abc.Sequence) or hint in (list, tuple):
        if not isinstance(value, ListConfig | list | tuple):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(map(_matches, value, args))
        return not args or all(_matches(v, args[0]) for v in value)
    if origin in (dict, collections.abc.Mapping) or hint is dict:
        return isinstance(value, DictConfig | dict)
    if isinstance(hint, type):
        # An object built elsewhere (a network, a tensor): only a nested config can stand for it.
        return isinstance(value, hint) or isinstance(value, DictConfig)
    return True


def _signature(target) -> tuple[dict[str, inspect.Parameter], dict[str, Any], bool]:
    init = target.__init__ if inspect.isclass(target) else target
    params = dict(inspect.signature(init).parameters)
    params.pop("self", None)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    try:
        hints = typing.get_type_hints(init)
    except Exception:  # unresolvable annotations in a third-party class: check keys only
        hints = {}
    params = {k: p for k, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    return params, hints, takes_any


def _resolver_message(error: InterpolationResolutionError) -> str:
    """The resolver's own words, without OmegaConf's wrapping and location lines."""
    first = str(error).splitlines()[0]
    return first.split("while resolving interpolation: ", 1)[-1]


def check_instantiable(node: DictConfig, path: str) -> None:
    """Check one `_target_` node (and the nodes nested in it) against the target's signature."""
    target_name = node._target_
    try:
        target = get_object(target_name)
    except Exception as error:
        raise ConfigError(f"{path}._target_: cannot import {target_name!r} ({error})") from None
    params, hints, takes_any = _signature(target)
    for key in node:
        if key in INSTANTIATE_KEYS:
            continue
        where = f"{path}.{key}" if path else key
        if key not in params and not takes_any:
            raise ConfigError(
                f"{where}: {key!r} is not a setting of {target_name}; "
                f"valid keys: {', '.join(sorted(params))}"
            )
        try:
            value = node[key]
        except InterpolationResolutionError as error:
            message = _resolver_message(error)
            if not HydraConfig.initialized():
                if message == "HydraConfig was not set":
                    continue  # a ${hydra:…} value, resolvable only inside a running Hydra job
                raise ConfigError(f"{where}: {message}") from None
            group = where.split(".")[0]  # name the option the user chose: method=imle_clusters_on_z
            choice = HydraConfig.get().runtime.choices.get(group)
            chosen = f" ({group}={choice})" if choice else ""
            raise ConfigError(f"{where}{chosen}: {message}") from None
        if isinstance(value, DictConfig) and "_target_" in value:
            check_instantiable(value, where)
        elif key in hints and not _matches(value, hints[key]):
            raise ConfigError(
                f"{where}: expected {_type_name(hints[key])}, got {value!r} "
                f"({type(value).__name__})"
            )


def validate(cfg: DictConfig) -> None:
    """Fail before any work starts if a key or value is one the harness would reject later."""
    known = {f.name for f in fields(RootConfig)}
    for key in cfg:
        if key not in known:
            raise ConfigError(
                f"{key}: not a setting; valid top-level keys: {', '.join(sorted(known))}"
            )
        node = OmegaConf.select(cfg, str(key), throw_on_resolution_failure=False)
        if not isinstance(node, DictConfig):
            continue
        # A group node is either instantiated itself (data, method, …) or holds such nodes
        # (generator.net, generator.discriminator, generator.train).
        children = (
            {str(key): node}
            if "_target_" in node
            else {
                f"{key}.{sub}": OmegaConf.select(node, str(sub), throw_on_resolution_failure=False)
                for sub in node
            }
        )
        for path, child in children.items():
            if isinstance(child, DictConfig) and "_target_" in child:
                check_instantiable(child, path)
