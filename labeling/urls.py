"""URL routes: the browser UI, the admin and the REST API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from labeling.views import home

# The API first: the labeling calls, most of all requests, are matched after one prefix.
urlpatterns = [
    path("api/v1/", include("labeling.api.urls")),
    path("", home.home, name="home"),
    path("healthz", home.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("labeling.urls_ui")),
]
