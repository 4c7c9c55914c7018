"""The application's routes plus three floors measured in the same run and configuration."""

from django.urls import path

from bench import floors
from config.urls import urlpatterns as application

urlpatterns = [
    path("floor/json", floors.bare_json),
    path("floor/select/<uuid:holder_id>", floors.raw_select),
    path("floor/insert", floors.raw_insert),
    *application,
]
