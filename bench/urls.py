"""The application's routes plus the floors of bench/floors.py, measured in the same run and
configuration."""

from django.urls import path

from bench import floors
from config.urls import urlpatterns as application

urlpatterns = [
    path("floor/json", floors.bare_json),
    path("floor/select/<uuid:holder_id>", floors.raw_select),
    path("floor/insert", floors.raw_insert),
    path("floor/update/<uuid:holder_id>", floors.raw_update),
    path("floor/alias-insert", floors.raw_alias_insert),
    path("floor/page", floors.raw_page),
    path("floor/aliases", floors.raw_aliases),
    *application,
]
