from tests.live import sqlite_deployment

__all__ = ["sqlite_deployment"]
