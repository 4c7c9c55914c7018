"""The `/v1` API: every route of the registry, in one router (cookiecutter-django's layout).

Paths take no trailing slash and accept one (as the reference's Fiber router does).
"""

from rest_framework.routers import SimpleRouter

from aliases.views import AliasViewSet, HolderAliasViewSet
from holders.views import HolderViewSet


class RegistryRouter(SimpleRouter):
    def __init__(self) -> None:
        super().__init__(trailing_slash=False)
        self.trailing_slash = "/?"


router = RegistryRouter()
router.register("holders", HolderViewSet, basename="holder")
router.register(r"holders/(?P<holder_id>[^/]+)/aliases", HolderAliasViewSet, basename="alias")
router.register("aliases", AliasViewSet, basename="alias-list")

app_name = "api"
urlpatterns = router.urls
