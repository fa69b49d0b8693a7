from tests.live import deployment, pg_deployment, sqlite_deployment

__all__ = ["deployment", "pg_deployment", "sqlite_deployment"]
