"""The environment variables' fixed names, in one place; the rest follow from the fields.

A leaf: every settings module may import it. ``Settings``'s own variables
(``SWEEPER_<FIELD>``, ``SWEEPER_<SECTION>__<KEY>``) are derived from ``ENV_PREFIX`` in
``_model.ENV_VARS``.
"""

from __future__ import annotations

__all__ = ["API_KEY_ENV", "ENV_PREFIX", "SHARD_COUNT_ENV", "SHARD_ENV", "SHARD_INDEX_ENV"]

API_KEY_ENV = "HARMONY_API_KEY"
ENV_PREFIX = "SWEEPER_"
# Kubernetes sets JOB_COMPLETION_INDEX in each pod of an Indexed Job; the count is ours.
SHARD_INDEX_ENV = "JOB_COMPLETION_INDEX"
SHARD_COUNT_ENV = "SWEEPER_SHARD_COUNT"
SHARD_ENV = f"{SHARD_INDEX_ENV} and {SHARD_COUNT_ENV}"
