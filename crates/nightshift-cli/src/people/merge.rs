//! Merging a person the GitHub sync created (a login, no e-mail) into the
//! person the import knows by e-mail: every reference moves, then the login
//! person is deleted and the import sets the login on the survivor.

use sqlx::PgConnection;

/// Moves everything that points at `from` to `into`, then deletes `from`.
///
/// The columns are the foreign keys to `users` as the catalog lists them
/// (bugs' assignee and creator, managers, project owners, pull request
/// authors, notices, and any table added later), so a new reference cannot
/// be forgotten here and block the delete. Done by hand: `bugs.followers`,
/// an array without a key, and the escalation rows' assignee and manager,
/// history kept without keys (migrations/20261203000500_backlog_write_cost.sql).
pub async fn merge(conn: &mut PgConnection, from: i64, into: i64) -> anyhow::Result<()> {
    let updates: Vec<String> = sqlx::query_scalar!(
        r#"SELECT format('UPDATE %s SET %I = $2 WHERE %I = $1', c.conrelid::regclass, a.attname, a.attname) AS "sql!"
           FROM pg_constraint c
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
          WHERE c.contype = 'f' AND c.confrelid = 'users'::regclass AND cardinality(c.conkey) = 1
          ORDER BY 1"#
    )
    .fetch_all(&mut *conn)
    .await?;
    for sql in updates {
        // Built by Postgres' format() from catalog names (%I quotes them).
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(into)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query!(
        "UPDATE escalations
            SET assignee_id = CASE WHEN assignee_id = $1 THEN $2 ELSE assignee_id END,
                manager_id = CASE WHEN manager_id = $1 THEN $2 ELSE manager_id END
          WHERE $1 IN (assignee_id, manager_id)",
        from,
        into,
    )
    .execute(&mut *conn)
    .await?;
    // After the assignees moved: one entry per follower, never the assignee.
    sqlx::query!(
        "UPDATE bugs
            SET followers = ARRAY(SELECT f FROM unnest(array_replace(followers, $1, $2))
                                               WITH ORDINALITY AS k(f, o)
                                   WHERE f IS DISTINCT FROM assignee_id
                                   GROUP BY f ORDER BY min(o))
          WHERE $1 = ANY (followers) OR ($2 = ANY (followers) AND assignee_id = $2)",
        from,
        into,
    )
    .execute(&mut *conn)
    .await?;
    // What only the login person had (a team, a zone, a manager, being
    // muted) carries over; the survivor's own values win. Had the survivor
    // reported to the login person, the move above made them their own
    // manager: that link goes.
    sqlx::query!(
        "UPDATE users u
            SET team = COALESCE(u.team, f.team), timezone = COALESCE(u.timezone, f.timezone),
                manager_id = COALESCE(NULLIF(u.manager_id, u.id), NULLIF(f.manager_id, u.id)),
                notify = u.notify AND f.notify
           FROM users f
          WHERE u.id = $2 AND f.id = $1",
        from,
        into,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM users WHERE id = $1", from,)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
