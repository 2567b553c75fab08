"""``python -m authcore.migrate``: create or upgrade the schema, for the monolith and ops.

Reads the same environment as the service (DATABASE_URL, USERS_*), runs the idempotent
migration and prints the schema version.
"""

from __future__ import annotations

import logging
import sys

from authcore.config import Config, ConfigError
from authcore.store import StoreError, open_store


def main() -> int:
    """Run the migration; 0 on success, 1 with a message on stderr otherwise."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        config = Config.from_env()
        store = open_store(config)
        version = store.migrate()
    except (ConfigError, StoreError) as exc:
        sys.stderr.write(f"migration failed: {exc}\n")
        return 1
    store.close()
    sys.stdout.write(f"schema version {version} at {config.database_url.split('@')[-1]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
