"""The start-up cache: replay a recorded Terraform apply into the embedded AWS instead of applying.

Nearly all of ``slsops local up`` is the aws provider waiting (KMS, Lambda, API Gateway), not
moto. The requests the apply makes are the same whenever its inputs are the same, and moto's
generated ids follow its seeded random source. So a first start-up with a given key seeds moto,
records every request that reaches moto (past the authorisation layer: the layer's decisions
were made then) and stores them with the Terraform state and outputs. A later start-up with the
same key seeds moto identically and feeds the recorded requests straight into moto's app (the
gaps included, the authorisation layer not: the recorded signatures are stale), checks each
answer's status against the recorded one, restores the state and outputs and skips Terraform.

Per-run values stay per run: the client roles' external ids and the administrator's access key
id in the recording are replaced by this run's before the replay (same lengths, URL-safe
characters), and in the state and outputs; the operator and administrator keys are created
before the seed, and after the apply or replay moto's random source is reseeded from the
system, so nothing a client later gets (session keys) is predictable. The cache is per user
(``$XDG_CACHE_HOME/slsops/startup``), folders 0700, files 0600.

``SLSOPS_LOCAL_NO_CACHE=1`` (or ``slsops local up --no-cache``) turns it off.

One concept per module: ``key`` (what is hashed), ``seeding`` (moto's random source),
``recorder`` (the WSGI middleware), ``replay`` (feeding the recording back, restoring state and
outputs) and ``store`` (the on-disk entries).
"""

from __future__ import annotations

import os

from slsops.local.startup_cache.key import cache_key
from slsops.local.startup_cache.recorder import RAISED, RequestRecorder
from slsops.local.startup_cache.replay import (
    ReplayDiverged,
    replay,
    restore_state,
    restored_outputs,
)
from slsops.local.startup_cache.seeding import (
    SEED,
    create_lazy_defaults,
    seed_moto,
    seeded,
    unseed_moto,
)
from slsops.local.startup_cache.store import (
    DIR_ENV,
    KEEP_ENTRIES,
    META_FILE,
    OUTPUTS_FILE,
    PRIVATE_DIR_MODE,
    REQUESTS_FILE,
    SCHEMA,
    STATE_FILE,
    CachedStart,
    cache_root,
    discard,
    key_lock,
    load,
    save,
)

NO_CACHE_ENV = "SLSOPS_LOCAL_NO_CACHE"


def disabled() -> bool:
    """Whether the user turned the cache off (any value but empty, 0, false or no)."""
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() not in ("", "0", "false", "no")


__all__ = [
    "DIR_ENV",
    "KEEP_ENTRIES",
    "META_FILE",
    "NO_CACHE_ENV",
    "OUTPUTS_FILE",
    "PRIVATE_DIR_MODE",
    "RAISED",
    "REQUESTS_FILE",
    "SCHEMA",
    "SEED",
    "STATE_FILE",
    "CachedStart",
    "ReplayDiverged",
    "RequestRecorder",
    "cache_key",
    "cache_root",
    "create_lazy_defaults",
    "disabled",
    "discard",
    "key_lock",
    "load",
    "replay",
    "restore_state",
    "restored_outputs",
    "save",
    "seed_moto",
    "seeded",
    "unseed_moto",
]
