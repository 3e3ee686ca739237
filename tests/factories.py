"""factory_boy factories shared by the Django tests."""

from __future__ import annotations

import hashlib
import io

import factory
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from PIL import Image

from labeling.models import Annotation, Membership, Project, Sample


def png_bytes(size: tuple[int, int] = (8, 8), color: tuple[int, int, int] = (0, 0, 0)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    classes = factory.LazyFunction(lambda: ["cat", "dog", "bird"])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    project = factory.SubFactory(ProjectFactory)
    role = Membership.Role.ANNOTATOR


class SampleFactory(factory.django.DjangoModelFactory):
    """A sample with a real (tiny) PNG; each gets a distinct colour, hence a distinct hash."""

    class Meta:
        model = Sample

    project = factory.SubFactory(ProjectFactory)
    width = 8
    height = 8
    split = Sample.Split.POOL

    @factory.lazy_attribute_sequence
    def file(self, n):
        data = png_bytes((8, 8), (n % 256, (n // 256) % 256, (n // 65536) % 256))
        digest = hashlib.sha256(data).hexdigest()
        return ContentFile(data, name=f"samples/test/{digest}.png")

    @factory.lazy_attribute
    def sha256(self):
        self.file.seek(0)
        return hashlib.sha256(self.file.read()).hexdigest()


class AnnotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Annotation

    sample = factory.SubFactory(SampleFactory)
    annotator = factory.SubFactory(UserFactory)
    label = 0
