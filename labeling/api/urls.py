"""Routes of /api/v1/. Each resource module registers its views here."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from labeling.api import annotations, auth, docs, exports, jobs, memberships, ml, projects, samples
from labeling.api.base import not_found

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("projects", projects.ProjectViewSet, basename="project")
router.register("memberships", memberships.MembershipViewSet, basename="membership")
router.register("samples", samples.SampleViewSet, basename="sample")
router.register("annotations", annotations.AnnotationViewSet, basename="annotation")
router.register("model-versions", ml.ModelVersionViewSet, basename="model-version")
router.register("learning-curve", ml.LearningCurveViewSet, basename="learning-curve")
router.register("simulations", ml.SimulationViewSet, basename="simulation")
router.register("jobs", jobs.JobViewSet, basename="job")

urlpatterns = [
    path("", include("labeling.api.urls_queue")),  # first: the labeling calls
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs.api_docs, name="docs"),
    path("auth/token/", auth.TokenView.as_view(), name="token"),
    path("loop-options/", projects.LoopOptionsView.as_view(), name="loop-options"),
    path("projects/<int:pk>/upload/", samples.ProjectUploadView.as_view(), name="project-upload"),
    path("projects/<int:pk>/export/", exports.ProjectExportView.as_view(), name="project-export"),
    path(
        "projects/<int:pk>/import-labels/",
        exports.ProjectLabelImportView.as_view(),
        name="project-import-labels",
    ),
    path("", include(router.urls)),
    # Last: anything else under /api/v1/ is a JSON 404, never an HTML page.
    re_path(r"^", not_found),
]
