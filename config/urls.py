"""URL configuration: `/v1` API, operational endpoints, metrics, Swagger UI, admin."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from crm.admin.catalog import catalog_view
from crm.admin.dashboard import dashboard_view
from crm.api import views as crm_views
from crm.observability.exposition import metrics_view
from events import backlog
from events.metrics import BacklogCollector

public = {"authentication_classes": [], "permission_classes": []}

urlpatterns = [
    path("health", crm_views.health, name="health"),
    path("version", crm_views.version, name="version"),
    # The change events' backlog is a detail of readiness (`events.backlog.readiness`).
    path("readyz", crm_views.readyz, {"details": {"events": backlog.readiness}}, name="readyz"),
    # 404 while METRICS_ENABLED is off; the outbox backlog is read at each scrape.
    path("metrics", metrics_view, {"collectors": [BacklogCollector()]}, name="metrics"),
    path("swagger", RedirectView.as_view(url="/swagger/index.html", permanent=True)),
    path("swagger/doc.json", SpectacularJSONAPIView.as_view(**public), name="openapi-schema"),
    path(
        "swagger/index.html",
        SpectacularSwaggerView.as_view(url_name="openapi-schema", **public),
        name="swagger-ui",
    ),
    path("swagger/", SpectacularSwaggerView.as_view(url_name="openapi-schema", **public)),
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="crm-dashboard"),
    # The admin's translation script, cached by the browser (crm/admin/catalog.py); the
    # admin's own `jsi18n` URL name reverses to this same address.
    path(
        "admin/jsi18n/",
        admin.site.admin_view(catalog_view, cacheable=True),
        name="crm-jsi18n",
    ),
    path("admin/", admin.site.urls),
    path("v1/", include("config.api_router")),
]

handler400 = "crm.api.views.bad_request"
handler403 = "crm.api.views.forbidden"
handler404 = "crm.api.views.route_not_found"
handler500 = "crm.api.views.server_error"
