"""What a trace that metatrace starts takes from the settings (its "head"): the DSC items of
the configuration, encoded once, and the pieces of the one-step rendering of the common page.
"""

from __future__ import annotations

from typing import NamedTuple

from . import formats
from .config import Config


class Head(NamedTuple):
    """What a trace we start takes from the settings, made once per configuration."""

    config: Config
    dsc: dict[str, str]  # the configured DSC items, encoded
    rate: str  # the sample_rate item (when there is a rate)
    dsc_template: dict[str, str]  # a started trace's DSC, its own values left empty
    # The items' members, each after a comma, for TraceContext._render; None when it cannot be used:
    # no public key (no DSC), or settings so long that the header would need fitting.
    members: str | None


def make_head(config: Config) -> Head:
    items = {
        "public_key": config.public_key,
        "org_id": config.org_id,
        "release": config.release,
        "environment": config.environment,
    }
    dsc = formats.encode_items({key: value for key, value in items.items() if value})
    rate = repr(config.traces_sample_rate)
    members = "".join(f",sentry-{field}={value}" for field, value in dsc.items())
    # The longest header TraceContext._render writes: a rate, and "false" for sampled.
    longest = f"sentry-trace_id={'0' * 32}{members},sentry-sample_rate={rate},"
    longest += "sentry-sample_rand=0.000000,sentry-sampled=false"
    fits = len(longest) <= formats.BAGGAGE_MAX_MEMBER_BYTES  # then fit_baggage keeps it all
    template = {"trace_id": "", **dsc}
    if config.traces_sample_rate is not None:
        template.update(sample_rate=rate, sample_rand="", sampled="")
    # The one-step rendering of TraceContext._render knows the default channels only.
    plain = config.public_key and fits and not config.trace_metric
    return Head(config, dsc, rate, template, members if plain else None)
