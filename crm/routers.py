"""Router for the `/v1` API: no trailing slash required, one accepted (as Fiber does)."""

from rest_framework.routers import SimpleRouter


class RegistryRouter(SimpleRouter):
    def __init__(self) -> None:
        super().__init__(trailing_slash=False)
        self.trailing_slash = "/?"
