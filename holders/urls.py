from crm.routers import RegistryRouter
from holders.views import HolderViewSet

router = RegistryRouter()
router.register("holders", HolderViewSet, basename="holder")

urlpatterns = router.urls
