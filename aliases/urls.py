from aliases.views import AliasViewSet, HolderAliasViewSet
from crm.routers import RegistryRouter

router = RegistryRouter()
router.register(r"holders/(?P<holder_id>[^/]+)/aliases", HolderAliasViewSet, basename="alias")
router.register("aliases", AliasViewSet, basename="alias-list")

urlpatterns = router.urls
