"""Zip archives: zip-slip names, links, encryption, and the size, count and ratio caps."""

from __future__ import annotations

import io
import os
import stat
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.imports.archive import declared_member_count, member_problem, unsafe_name
from labeling.imports.entries import ImportRefused
from labeling.imports.limits import ImportLimits
from labeling.models import Sample
from labeling.services.imports import dataset_import
from tests.labeling.test_import_images import png

pytestmark = pytest.mark.django_db


def make_zip(path, members, compression=zipfile.ZIP_DEFLATED):
    """``members``: (name or ZipInfo, bytes) pairs, written as given (no name cleaning)."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members:
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name)
            info.compress_type = compression
            archive.writestr(info, data)
    return path


def symlink_member(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def files_under(folder) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(root, name), folder)
        for root, _, names in os.walk(folder)
        for name in names
    )


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.png", "parent directory reference"),
        ("a/../../evil.png", "parent directory reference"),
        ("..\\evil.png", "parent directory reference"),
        ("/etc/evil.png", "absolute path"),
        ("\\evil.png", "absolute path"),
        ("C:/evil.png", "drive letter"),
        ("c:evil.png", "drive letter"),
        ("a\x00.png", "NUL byte"),
    ],
)
def test_unsafe_names(name, reason):
    assert reason in unsafe_name(name)


@pytest.mark.parametrize("name", ["a.png", "cat/a.png", "a..b.png", "...png", "x/.../y.png"])
def test_safe_names(name):
    assert unsafe_name(name) is None


def test_member_checks_without_reading():
    limits = ImportLimits(max_image_bytes=1000, max_compression_ratio=10, ratio_floor_bytes=100)
    link, _ = symlink_member("cat/link.png", "/etc/passwd")
    assert member_problem(link, limits).startswith("symbolic link")
    secret = zipfile.ZipInfo("secret.png")
    secret.flag_bits |= 0x1
    secret.file_size = secret.compress_size = 10
    assert member_problem(secret, limits) == "encrypted archive member"
    big = zipfile.ZipInfo("big.png")
    big.file_size, big.compress_size = 5000, 4000
    assert member_problem(big, limits).startswith("over the byte cap")
    packed = zipfile.ZipInfo("packed.png")
    packed.file_size, packed.compress_size = 900, 9
    assert member_problem(packed, limits).startswith("compression ratio over the cap (100:1")


def test_a_zip_slip_archive_rejects_each_bad_member_and_imports_the_rest(
    tmp_path, settings, project
):
    (tmp_path / "upload").mkdir()
    archive = make_zip(
        tmp_path / "upload" / "slip.zip",
        [
            ("good/one.png", png(color=(1, 1, 1))),
            ("../evil.png", png(color=(2, 2, 2))),
            ("/tmp/evil-absolute.png", png(color=(3, 3, 3))),
            ("C:/Windows/evil-drive.png", png(color=(4, 4, 4))),
            symlink_member("good/link.png", "/etc/passwd"),
            ("good/two.png", png(color=(5, 5, 5))),
        ],
    )
    report = dataset_import(project=project, path=archive)
    assert report.imported == 2
    reasons = dict(report.rejected)
    assert reasons["../evil.png"] == "unsafe path (parent directory reference '..')"
    assert reasons["/tmp/evil-absolute.png"] == "unsafe path (absolute path)"
    assert reasons["C:/Windows/evil-drive.png"] == "unsafe path (drive letter)"
    assert reasons["good/link.png"].startswith("symbolic link")
    assert sorted(Sample.objects.values_list("original_name", flat=True)) == [
        "good/one.png",
        "good/two.png",
    ]
    # Nothing beside the archive, nothing outside the samples folder of the media root.
    assert os.listdir(tmp_path / "upload") == ["slip.zip"]
    assert not (tmp_path / "evil.png").exists()
    media_files = files_under(settings.MEDIA_ROOT)
    assert len(media_files) == 2
    assert all(f.startswith(f"samples{os.sep}{project.pk}{os.sep}") for f in media_files)


def test_a_deflate_bomb_member_is_refused_by_ratio_and_the_rest_imported(
    tmp_path, settings, project
):
    settings.QUARRY_IMPORT = {"max_compression_ratio": 50, "ratio_floor_bytes": 1024}
    archive = make_zip(
        tmp_path / "bomb.zip", [("zeros.png", b"\0" * 2_000_000), ("fine.png", png())]
    )
    report = dataset_import(project=project, path=archive)
    assert report.imported == 1
    [(name, reason)] = report.rejected
    assert name == "zeros.png" and reason.startswith("compression ratio over the cap")


def test_member_count_cap_refuses_the_archive_before_reading_its_directory(
    tmp_path, settings, project
):
    settings.QUARRY_IMPORT = {"max_archive_members": 2}
    archive = make_zip(
        tmp_path / "many.zip", [(f"{i}.png", png(color=(i, 0, 0))) for i in range(3)]
    )
    with open(archive, "rb") as fh:
        assert declared_member_count(fh) == 3
    with pytest.raises(ImportRefused, match="lists 3 members; the cap is 2"):
        dataset_import(project=project, path=archive)
    assert not Sample.objects.exists()


def test_total_uncompressed_cap_refuses_the_archive(tmp_path, settings, project):
    members = [(f"{i}.png", png((30, 30), color=(i, 9, 9))) for i in range(10)]
    settings.QUARRY_IMPORT = {"max_archive_bytes": sum(len(data) for _, data in members) - 1}
    archive = make_zip(tmp_path / "large.zip", members, compression=zipfile.ZIP_STORED)
    with pytest.raises(ImportRefused, match="expands to"):
        dataset_import(project=project, path=archive)


def test_not_a_zip_is_refused(tmp_path, project):
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"this is not an archive")
    with pytest.raises(ImportRefused, match="not a readable zip archive"):
        dataset_import(project=project, path=fake)


def test_corrupt_member_is_rejected_by_crc(tmp_path, project):
    archive = make_zip(
        tmp_path / "crc.zip",
        [("a.png", png(color=(1, 2, 3))), ("b.png", png(color=(3, 2, 1)))],
        compression=zipfile.ZIP_STORED,
    )
    raw = bytearray(archive.read_bytes())
    offset = raw.find(b"IDAT") + 8  # flip a pixel byte of the first member
    raw[offset] ^= 0xFF
    archive.write_bytes(bytes(raw))
    report = dataset_import(project=project, path=archive)
    assert report.imported == 1
    [(name, reason)] = report.rejected
    assert name == "a.png" and "Bad CRC-32" in reason


def test_uploaded_zip_and_uploaded_image(project):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cat/a.png", png(color=(7, 7, 7)))
        archive.writestr("__MACOSX/cat/._a.png", b"resource fork")
    upload = SimpleUploadedFile("batch.zip", buffer.getvalue(), content_type="application/zip")
    report = dataset_import(project=project, path=upload, labels_as="oracle")
    assert (report.imported, report.ignored) == (1, ["__MACOSX/cat/._a.png"])
    assert Sample.objects.get().oracle_label == project.classes.index("cat")

    single = SimpleUploadedFile("../../x/photo.png", png(color=(8, 8, 8)), content_type="image/png")
    report = dataset_import(project=project, path=single)
    assert report.imported == 1
    assert Sample.objects.filter(original_name="photo.png").exists()


def test_decoder_processes_read_members_themselves(tmp_path, project):
    members = [(f"cat/{i}.png", png(color=(i, 1, 2))) for i in range(200)]
    members.append(("cat/notes.png", b"text"))
    archive = make_zip(tmp_path / "many.zip", members, compression=zipfile.ZIP_STORED)
    raw = bytearray(archive.read_bytes())
    raw[raw.find(b"IDAT") + 8] ^= 0xFF  # corrupt cat/0.png
    archive.write_bytes(bytes(raw))
    report = dataset_import(project=project, path=archive, labels_as="oracle", workers=2)
    assert report.imported == 199
    reasons = dict(report.rejected)
    assert "Bad CRC-32" in reasons["cat/0.png"]
    assert reasons["cat/notes.png"].startswith("not an image")
