"""The web pages (`api.web`), included with the API's routers."""

from api.web import router

__all__ = ["router"]
