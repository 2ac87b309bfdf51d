"""Task lists for fleet tests that run scripted fake LLMs (foreman.rehearsal).

The fakes cannot do the seed's real work (fix login, write research), so the seed's checks would
refuse every close. Tests about fleet mechanics (planning, leases, resume, Ctrl-C) use the seed
without its checks; ``tests/acceptance/test_verified_fleet.py`` runs the seed with them.
"""

from tests.support.seed import SEED_TASKS

SEED_WITHOUT_CHECKS = [task.model_copy(update={"checks": []}) for task in SEED_TASKS]
