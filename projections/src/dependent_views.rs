//! Views that read a projection's tables (the analytics surface, `migrations/0009_analytics.sql`)
//! across a rebuild's swap. PostgreSQL binds a view to the table it was created on, so the live
//! table cannot be dropped while a view reads it. The swap's transaction saves every view that
//! depends on the tables, directly or through other views, drops them, swaps the tables and
//! creates the views again from their saved definitions (with their options, comments and
//! grants). It is one transaction: readers see the old views and tables until the commit and
//! the new ones after.

use sqlx::PgConnection;

/// One view as it stood before the swap.
#[derive(Debug, sqlx::FromRow)]
pub struct SavedView {
    /// Schema-qualified, quoted name.
    name: String,
    /// How deep it sits above the tables: views are created again shallowest first.
    depth: i32,
    definition: String,
    options: Option<Vec<String>>,
    comment: Option<String>,
    /// `COMMENT ON COLUMN` and `GRANT` statements that restore the rest.
    restore: Vec<String>,
}

/// Every view over `tables` (names in `public`), deepest dependents included.
const DEPENDENTS: &str = "
WITH RECURSIVE dependents (view_oid, depth) AS (
    SELECT r.ev_class, 1
      FROM pg_depend d
      JOIN pg_rewrite r ON r.oid = d.objid
     WHERE d.classid = 'pg_rewrite'::regclass
       AND d.refobjid = ANY (SELECT ('public.' || t)::regclass::oid FROM unnest($1::text[]) t)
       AND r.ev_class <> d.refobjid
    UNION
    SELECT r.ev_class, dep.depth + 1
      FROM dependents dep
      JOIN pg_depend d ON d.refobjid = dep.view_oid AND d.classid = 'pg_rewrite'::regclass
      JOIN pg_rewrite r ON r.oid = d.objid
     WHERE r.ev_class <> d.refobjid
)
SELECT c.oid::regclass::text AS name,
       max(dep.depth) AS depth,
       pg_get_viewdef(c.oid) AS definition,
       c.reloptions::text[] AS options,
       obj_description(c.oid, 'pg_class') AS comment,
       ARRAY(
           SELECT format('COMMENT ON COLUMN %s.%I IS %L', c.oid::regclass, a.attname,
                         col_description(c.oid, a.attnum))
             FROM pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND col_description(c.oid, a.attnum) IS NOT NULL
           UNION ALL
           SELECT format('GRANT %s ON %s TO %s%s', g.privilege_type, c.oid::regclass,
                         CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                         CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
             FROM aclexplode(c.relacl) g
            WHERE g.grantee <> c.relowner
       ) AS restore
  FROM dependents dep
  JOIN pg_class c ON c.oid = dep.view_oid
 WHERE c.relkind = 'v'
 GROUP BY c.oid";

/// Saves and drops every view that reads `tables`, in the caller's transaction.
pub async fn detach(conn: &mut PgConnection, tables: &[&str]) -> anyhow::Result<Vec<SavedView>> {
    let mut views: Vec<SavedView> = sqlx::query_as(DEPENDENTS)
        .bind(tables)
        .fetch_all(&mut *conn)
        .await?;
    views.sort_by_key(|v| v.depth);
    for v in views.iter().rev() {
        sqlx::query(&format!("DROP VIEW {}", v.name))
            .execute(&mut *conn)
            .await?;
    }
    Ok(views)
}

/// Creates the saved views again, over whatever tables now carry the names they read.
pub async fn reattach(conn: &mut PgConnection, views: &[SavedView]) -> anyhow::Result<()> {
    for v in views {
        let options = match &v.options {
            Some(o) if !o.is_empty() => format!(" WITH ({})", o.join(", ")),
            _ => String::new(),
        };
        sqlx::query(&format!(
            "CREATE VIEW {}{options} AS {}",
            v.name, v.definition
        ))
        .execute(&mut *conn)
        .await?;
        if let Some(comment) = &v.comment {
            sqlx::query(&format!(
                "COMMENT ON VIEW {} IS {}",
                v.name,
                quote_literal(comment)
            ))
            .execute(&mut *conn)
            .await?;
        }
        for statement in &v.restore {
            sqlx::query(statement).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// A SQL string literal.
fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
