"""The start-up's deploy step: apply ``infra/`` with Terraform, or replay a recorded apply.

Applying is most of a start-up (the aws provider waiting), so an apply is recorded under a key
of its inputs (``slsops.local.startup_cache``) and a later start-up with the same key replays it
in a few seconds. Both ways leave the same resources, Terraform state, outputs and deploy-role
usage report, so what follows the deploy step cannot tell them apart.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from slsops.local import apply as tf_apply
from slsops.local import deployer, startup_cache
from slsops.local.authz import principals
from slsops.local.startup_phases import Phases
from slsops.packaging import sha256_of

log = logging.getLogger("slsops.local")


def tf_versions(tf_dir: Path) -> str:
    """Terraform's and the providers' versions (the lock file names the provider's hashes)."""
    from slsops import terraform as tf

    lock = tf_dir / ".terraform.lock.hcl"
    lock_text = lock.read_text(encoding="utf-8") if lock.is_file() else ""
    binary = Path(tf.find_terraform())
    stat = binary.stat()
    return f"{binary}|{stat.st_size}|{stat.st_mtime_ns}|{lock_text}"


def deploy_infra(
    tf_dir: Path,
    inputs: tf_apply.LocalInputs,
    zip_path: Path,
    admin: Any,
    *,
    moto_url: str,
    region: str,
    workdir: Path,
    recorder: startup_cache.RequestRecorder,
    phases: Phases,
    use_cache: bool,
) -> dict[str, Any]:
    """Apply infra/ (recording it for the start-up cache) or replay a recorded apply.

    Returns Terraform's outputs. ``startup_cache.ReplayDiverged`` means a replay left moto
    half-built: the entry is discarded and the caller must start again from an empty moto.
    """
    if not use_cache or startup_cache.disabled():
        with phases.phase("terraform apply (as the deploy role)"):
            deployer.apply_as_deployer(tf_dir, moto_url, region)
            return tf_apply.outputs(tf_dir)
    key = startup_cache.cache_key(
        tf_dir,
        inputs.external_ids,
        {"zip": sha256_of(zip_path), "terraform": tf_versions(tf_dir)},
    )
    cached = startup_cache.load(key)
    if cached is None:
        # One recording per key at a time (e.g. pytest-xdist workers starting together on a
        # cold cache): the others wait for it, then replay it instead of applying again.
        def waiting() -> None:
            log.warning("another start-up is recording cache entry %s: waiting for it", key)

        with startup_cache.key_lock(key, on_wait=waiting):
            cached = startup_cache.load(key)
            if cached is None:
                steps = (tf_dir, inputs, admin, moto_url, region, workdir, recorder, phases)
                return _record(key, *steps)
    return _replay(key, cached, tf_dir, inputs, admin, moto_url, region, workdir, recorder, phases)


def _replay(
    key: str,
    cached: startup_cache.CachedStart,
    tf_dir: Path,
    inputs: tf_apply.LocalInputs,
    admin: Any,
    moto_url: str,
    region: str,
    workdir: Path,
    recorder: startup_cache.RequestRecorder,
    phases: Phases,
) -> dict[str, Any]:
    """Replay a recorded apply into the seeded moto; its state, usage report and outputs."""
    entry = f"{len(cached.entries)} requests, cache entry {key}"
    with phases.phase(f"replaying the cached apply ({entry})"):
        subs = cached.substitutions(inputs.external_ids, admin.access_key_id)
        try:
            with startup_cache.seeded(region=region):
                startup_cache.replay(recorder.app, cached.entries, subs)
        except startup_cache.ReplayDiverged:
            startup_cache.discard(key)  # the next start-up applies and records again
            raise
        finally:
            principals.SHARED.invalidate()  # IAM and STS changed around the layer
        startup_cache.restore_state(cached, workdir / "terraform.tfstate", subs)
        deployer.sign_in_as_deployer(tf_dir, moto_url, region)
        usage = cached.folder / deployer.USAGE_FILE
        if usage.is_file():
            tf_apply.write_private(workdir / deployer.USAGE_FILE, usage.read_text())
        return startup_cache.restored_outputs(cached, subs)


def _record(
    key: str,
    tf_dir: Path,
    inputs: tf_apply.LocalInputs,
    admin: Any,
    moto_url: str,
    region: str,
    workdir: Path,
    recorder: startup_cache.RequestRecorder,
    phases: Phases,
) -> dict[str, Any]:
    """Apply with Terraform into the seeded moto, recording every request; store the entry."""
    with phases.phase(f"terraform apply (as the deploy role, recorded as cache entry {key})"):
        with startup_cache.seeded(region=region):
            recorder.start()
            try:
                deployer.apply_as_deployer(tf_dir, moto_url, region)
            finally:
                entries = recorder.stop()
        principals.SHARED.invalidate()  # the apply's sessions are gone
        tf_outputs = tf_apply.outputs(tf_dir)
        if recorder.foreign_draws:
            log.warning(
                "start-up cache not stored: moto drew ids outside the recorded requests "
                "(a replay would create other ids), at:\n%s",
                "\n---\n".join(recorder.foreign_draws),
            )
            return tf_outputs
        try:
            startup_cache.save(
                key,
                entries,
                workdir / "terraform.tfstate",
                tf_outputs,
                inputs.external_ids,
                admin.access_key_id,
                extra_files=[workdir / deployer.USAGE_FILE],
            )
        except OSError as exc:  # e.g. another start-up stored the same key meanwhile
            log.warning("start-up cache not stored: %s", exc)
    return tf_outputs
