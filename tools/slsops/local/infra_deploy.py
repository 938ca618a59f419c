"""The start-up's deploy step: apply ``infra/`` with Terraform, or replay a recorded apply.

Applying is most of a start-up (the aws provider waiting), so an apply is recorded under a key
of its inputs (``slsops.local.startup_cache``) and a later start-up with the same key replays it
in a few seconds. Both ways leave the same resources, Terraform state, outputs and deploy-role
usage report, so what follows the deploy step cannot tell them apart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Deploy:
    """What applying and replaying both need."""

    tf_dir: Path
    inputs: tf_apply.LocalInputs
    admin: Any
    moto_url: str
    region: str
    workdir: Path
    recorder: startup_cache.RequestRecorder
    phases: Phases


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
    deploy = _Deploy(tf_dir, inputs, admin, moto_url, region, workdir, recorder, phases)
    cached = startup_cache.load(key)
    if cached is None:
        # One recording per key at a time (e.g. pytest-xdist workers starting together on a
        # cold cache): the others wait for it, then replay it instead of applying again.
        def waiting() -> None:
            log.warning("another start-up is recording cache entry %s: waiting for it", key)

        with startup_cache.key_lock(key, on_wait=waiting):
            cached = startup_cache.load(key)
            if cached is None:
                return _record(key, deploy)
    return _replay(key, cached, deploy)


def _replay(key: str, cached: startup_cache.CachedStart, deploy: _Deploy) -> dict[str, Any]:
    """Replay a recorded apply into the seeded moto; its state, usage report and outputs."""
    entry = f"{len(cached.entries)} requests, cache entry {key}"
    with deploy.phases.phase(f"replaying the cached apply ({entry})"):
        subs = cached.substitutions(deploy.inputs.external_ids, deploy.admin.access_key_id)
        try:
            with startup_cache.seeded(region=deploy.region):
                startup_cache.replay(deploy.recorder.app, cached.entries, subs)
        except startup_cache.ReplayDiverged:
            startup_cache.discard(key)  # the next start-up applies and records again
            raise
        finally:
            principals.SHARED.invalidate()  # IAM and STS changed around the layer
        startup_cache.restore_state(cached, deploy.workdir / "terraform.tfstate", subs)
        deployer.sign_in_as_deployer(deploy.tf_dir, deploy.moto_url, deploy.region)
        usage = cached.folder / deployer.USAGE_FILE
        if usage.is_file():
            tf_apply.write_private(deploy.workdir / deployer.USAGE_FILE, usage.read_text())
        return startup_cache.restored_outputs(cached, subs)


def _record(key: str, deploy: _Deploy) -> dict[str, Any]:
    """Apply with Terraform into the seeded moto, recording every request; store the entry."""
    with deploy.phases.phase(
        f"terraform apply (as the deploy role, recorded as cache entry {key})"
    ):
        with startup_cache.seeded(region=deploy.region):
            deploy.recorder.start()
            try:
                deployer.apply_as_deployer(deploy.tf_dir, deploy.moto_url, deploy.region)
            finally:
                entries = deploy.recorder.stop()
        principals.SHARED.invalidate()  # the apply's sessions are gone
        tf_outputs = tf_apply.outputs(deploy.tf_dir)
        if deploy.recorder.foreign_draws:
            log.warning(
                "start-up cache not stored: moto drew ids outside the recorded requests "
                "(a replay would create other ids), at:\n%s",
                "\n---\n".join(deploy.recorder.foreign_draws),
            )
            return tf_outputs
        try:
            startup_cache.save(
                key,
                entries,
                deploy.workdir / "terraform.tfstate",
                tf_outputs,
                deploy.inputs.external_ids,
                deploy.admin.access_key_id,
                extra_files=[deploy.workdir / deployer.USAGE_FILE],
            )
        except OSError as exc:  # e.g. another start-up stored the same key meanwhile
            log.warning("start-up cache not stored: %s", exc)
    return tf_outputs
