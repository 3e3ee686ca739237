"""PostgreSQL: a label for a held sample and the get-next after it, one statement.

The label view submits each label with ``"next": N``: store the label, then hand out the
next sample. Those were two statements and two transactions, each waiting for its commit
to reach the disk. ``quarry_label_held`` does both in one transaction: the label as before
(drop the user's reservation, which is the lock; count the label on the item; insert it),
then, when the label was stored and ``p_count`` > 0, ``quarry_queue_next``. It returns one
row per handed-out item, each carrying the label's id and the item's new label count, or
one row with no item when nothing was handed out; no row at all when the label was not
stored (no live reservation: the caller then takes the locking path).

A label the user already gave, or a key used before, fails on the unique constraints and
the statement changes nothing, as the single statement did. Each statement inside the
function takes a fresh snapshot, so get-next sees the reservation just dropped.
"""

from django.db import migrations

SIGNATURE = (
    "quarry_label_held(bigint, bigint, integer, integer, integer, integer, varchar, "
    "timestamptz, timestamptz, integer, integer, integer)"
)

FUNCTION = """
CREATE OR REPLACE FUNCTION quarry_label_held(
    p_project bigint, p_sample bigint, p_user integer, p_overlap integer, p_label integer,
    p_spent integer, p_key varchar, p_now timestamptz,
    p_expires timestamptz, p_count integer, p_cap integer, p_attempts integer)
RETURNS TABLE (label_id bigint, label_count integer,
               handed_id bigint, handed_sample_id bigint, handed_position bigint)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    WITH r AS (
        DELETE FROM labeling_reservation
        WHERE user_id = p_user AND expires_at > p_now AND item_id = (
            SELECT q.id FROM labeling_queueitem q
            WHERE q.project_id = p_project AND q.sample_id = p_sample)
        RETURNING item_id
    ), c AS (
        UPDATE labeling_queueitem q SET n_annotations = q.n_annotations + 1,
            state = CASE WHEN q.n_annotations + 1 >= p_overlap THEN 'done' ELSE q.state END
        FROM r WHERE q.id = r.item_id
        RETURNING q.n_annotations
    ), a AS (
        INSERT INTO labeling_annotation
            (sample_id, annotator_id, label, time_spent_ms, idempotency_key, created_at,
             updated_at)
        SELECT p_sample, p_user, p_label, p_spent, p_key, p_now, p_now FROM c
        RETURNING id
    )
    SELECT a.id, c.n_annotations INTO label_id, label_count FROM a, c;
    IF label_id IS NULL THEN
        RETURN;
    END IF;
    IF p_count > 0 THEN
        RETURN QUERY SELECT label_id, label_count, n.handed_id, n.handed_sample_id,
                            n.handed_position
            FROM quarry_queue_next(p_project, p_user, p_now, p_expires, p_overlap, p_count,
                                   p_cap, p_attempts) n;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;
    RETURN NEXT;
END;
$$;
"""
# as get-next's function (migration 0004): plans kept per connection, no JIT, a few rows
SETTINGS = {"plan_cache_mode": "force_generic_plan", "jit": "off"}
ROWS = 5


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)
        for name, value in SETTINGS.items():
            schema_editor.execute(f"ALTER FUNCTION {SIGNATURE} SET {name} = {value}")
        schema_editor.execute(f"ALTER FUNCTION {SIGNATURE} ROWS {ROWS}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")


class Migration(migrations.Migration):
    dependencies = [("labeling", "0006_queue_vacuum_keeps_pages")]

    operations = [migrations.RunPython(create, drop)]
