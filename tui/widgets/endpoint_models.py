"""Served models in the model picker, beside the local ones.

The picker lists a `Catalog`; this adds, after the models on this machine, every model each
endpoint serves (the one in use and the named endpoints of config.toml), with the context length
where the server gives it, and says which LoadSpec choosing one means (the served name on that
endpoint). An endpoint that cannot be reached becomes a catalogue warning in the picker, not an
error. Listing happens in the picker's scan worker (it is HTTP, bounded by a short timeout).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from tui.engine.backend import LoadSpec
from tui.engine.endpoint import Endpoint
from tui.models.catalog import Catalog, CatalogEntry, list_models
from tui.models.facts import ModelFacts


class RemoteModels:
    """A picker lister (local models, then served ones) and the spec of each served entry.

    Args:
        endpoints: the endpoints to list, asked afresh at every scan.
        local: the local lister (`list_models` by default).
        served: endpoint -> (models, problem); `served_models` by default (tests pass data).
    """

    def __init__(
        self,
        endpoints: Callable[[], Sequence[Endpoint]],
        local: Callable[[Sequence[Path]], Catalog] | None = None,
        served: Callable[[Endpoint], tuple[list, str | None]] | None = None,
    ) -> None:
        self._endpoints = endpoints
        self._local = local or (lambda dirs: list_models(dirs))
        if served is None:
            from tui.engine.remote.listing import served_models

            served = served_models
        self._served = served
        self._specs: dict[CatalogEntry, LoadSpec] = {}

    def lister(self, dirs: Sequence[Path]) -> Catalog:
        local = self._local(dirs)
        entries = list(local.entries)
        warnings = list(local.warnings)
        specs: dict[CatalogEntry, LoadSpec] = {}
        for endpoint in self._endpoints():
            models, problem = self._served(endpoint)
            if problem:
                warnings.append(f"{endpoint.label}: {problem}")
                continue
            for model in models:
                where = f"{model.server} at {endpoint.url}"
                entry = CatalogEntry(
                    model.id,
                    f"{model.name} @ {endpoint.label}",
                    "remote",
                    None,
                    ModelFacts(context_length=model.context_length),
                    hint=f"Served by {where}: runs on that machine, not this one.",
                )
                entries.append(entry)
                specs[entry] = LoadSpec(model=model.id, endpoint=endpoint)
        self._specs = specs
        return Catalog(entries, local.hidden, warnings, local.elapsed_s)

    def spec_for(self, entry: CatalogEntry) -> LoadSpec | None:
        """The LoadSpec a served entry loads (None: not one of ours)."""
        return self._specs.get(entry)
