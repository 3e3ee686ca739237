"""PostgreSQL: get-next's lock-and-reserve loop as one function, one round trip.

``labeling.services.queue.queue_next`` calls it; SQLite runs the same steps from Python
(``labeling.services.queue_sql``). The conditions below are ``queue_sql._room``'s and
must change with it (``tests/labeling/test_queue_postgres.py`` runs the queue's tests
on this function).

Each statement inside a PL/pgSQL function takes a fresh snapshot (READ COMMITTED), so
the reserving ``INSERT`` sees every reservation committed while the candidate rows were
being locked, as the two separate statements did.
"""

from django.db import migrations

# Whether item q has a place left for the user: with overlap 1, nobody holds it; otherwise
# the user does not hold it and its labels and holders stay under the overlap.
ROOM = """(CASE WHEN p_overlap = 1 THEN NOT EXISTS (
                    SELECT 1 FROM labeling_reservation r
                    WHERE r.item_id = q.id AND r.expires_at > p_now)
                ELSE NOT EXISTS (
                    SELECT 1 FROM labeling_reservation r
                    WHERE r.item_id = q.id AND r.user_id = p_user AND r.expires_at > p_now)
                  AND q.n_annotations + (
                    SELECT count(*) FROM labeling_reservation r
                    WHERE r.item_id = q.id AND r.expires_at > p_now) < p_overlap
                END)"""

FUNCTION = """
CREATE OR REPLACE FUNCTION quarry_queue_next(
    p_project bigint, p_user integer, p_now timestamptz, p_expires timestamptz,
    p_overlap integer, p_count integer, p_cap integer, p_attempts integer)
RETURNS TABLE (handed_id bigint, handed_sample_id bigint, handed_position bigint)
LANGUAGE plpgsql VOLATILE AS $$
-- Up to p_count items the user holds (unexpired reservations of open items), then new
-- ones up to p_cap in all: locked in queue order skipping rows others lock, reserved if
-- still free. Held items first, each group in queue order.
DECLARE
    held bigint[];
    fresh bigint[] := '{}';
    locked bigint[];
    want integer;
BEGIN
    SELECT coalesce(array_agg(h.id ORDER BY h.position), '{}') INTO held FROM (
        SELECT q.id, q.position
        FROM labeling_reservation r JOIN labeling_queueitem q ON q.id = r.item_id
        WHERE r.user_id = p_user AND r.expires_at > p_now
          AND q.project_id = p_project AND q.state = 'open'
        ORDER BY q.position LIMIT p_count) h;
    FOR attempt IN 1..p_attempts LOOP
        want := p_cap - cardinality(held) - cardinality(fresh);
        EXIT WHEN want <= 0;
        SELECT array_agg(c.id) INTO locked FROM (
            SELECT q.id FROM labeling_queueitem q
            WHERE q.project_id = p_project AND q.state = 'open'
              AND NOT EXISTS (
                SELECT 1 FROM labeling_annotation a
                WHERE a.sample_id = q.sample_id AND a.annotator_id = p_user)
              AND NOT EXISTS (
                SELECT 1 FROM labeling_skip s WHERE s.item_id = q.id AND s.user_id = p_user)
              AND {room}
            ORDER BY q.position LIMIT want
            FOR UPDATE OF q SKIP LOCKED) c;
        EXIT WHEN locked IS NULL;
        -- a statement of its own: it sees what others reserved while the rows were locked
        WITH reserved AS (
            INSERT INTO labeling_reservation (item_id, user_id, expires_at, created_at)
            SELECT q.id, p_user, p_expires, p_now FROM labeling_queueitem q
            WHERE q.id = ANY(locked) AND q.state = 'open'
              AND {room}
            ON CONFLICT (item_id, user_id)
            DO UPDATE SET expires_at = excluded.expires_at, created_at = excluded.created_at
            RETURNING labeling_reservation.item_id)
        SELECT fresh || coalesce(array_agg(reserved.item_id), '{}') INTO fresh FROM reserved;
    END LOOP;
    RETURN QUERY
        SELECT q.id, q.sample_id, q.position FROM labeling_queueitem q
        WHERE q.id = ANY(held || fresh)
        ORDER BY q.id <> ALL(held), q.position;
END;
$$;
""".replace("{room}", ROOM)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS quarry_queue_next("
            "bigint, integer, timestamptz, timestamptz, integer, integer, integer, integer)"
        )



class Migration(migrations.Migration):
    dependencies = [("labeling", "0002_queue_open_index")]

    operations = [migrations.RunPython(create, drop)]
