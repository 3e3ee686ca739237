"""The indexes a label writes to and nothing reads: each label inserts an annotation,
rewrites its queue item's index entries (the item's state is indexed, so the update is
not a HOT one) and swaps one reservation for another, and every index on those tables
costs an insert, WAL and vacuum work per label.

Dropped, each covered by an index that leads with the same column:
- annotation: ``sample_id`` (``annotation_unique_sample_annotator``), ``annotator_id``
  (``annotation_by_time``), and on PostgreSQL the ``varchar_pattern_ops`` copy Django
  adds for the unique ``idempotency_key`` (for ``LIKE``, which nothing asks of a key);
- queue item: ``project_id`` (``queue_unique_position``) and ``queue_next``
  (project, state, position: get-next reads ``queue_open``);
- reservation: ``item_id`` (``reservation_unique_item_user``, ``reservation_active``)
  and ``user_id`` (``reservation_by_user``).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _key_like_index(apps, schema_editor):
    annotation = apps.get_model("labeling", "Annotation")
    field = annotation._meta.get_field("idempotency_key")
    return (
        annotation,
        field,
        schema_editor._create_index_name(annotation._meta.db_table, [field.column], suffix="_like"),
    )


def drop_key_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        annotation, _, name = _key_like_index(apps, schema_editor)
        schema_editor.execute(schema_editor._delete_index_sql(annotation, name))


def create_key_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        annotation, field, _ = _key_like_index(apps, schema_editor)
        schema_editor.execute(schema_editor._create_like_index_sql(annotation, field))


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0004_queue_next_generic_plans"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_key_like_index, create_key_like_index),
        migrations.RemoveIndex(
            model_name="queueitem",
            name="queue_next",
        ),
        migrations.AlterField(
            model_name="annotation",
            name="annotator",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="annotations",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="annotation",
            name="sample",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="annotations",
                to="labeling.sample",
            ),
        ),
        migrations.AlterField(
            model_name="queueitem",
            name="project",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="queue_items",
                to="labeling.project",
            ),
        ),
        migrations.AlterField(
            model_name="reservation",
            name="item",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="reservations",
                to="labeling.queueitem",
            ),
        ),
        migrations.AlterField(
            model_name="reservation",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="reservations",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
