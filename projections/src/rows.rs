//! Writing many read-model rows in one statement. A row type lists its columns once and can be
//! written two ways:
//! - as JSON, expanded by `jsonb_populate_recordset` in an `INSERT … ON CONFLICT` (any row,
//!   new or not; what live batches of a few events use), or
//! - by `COPY … FROM STDIN` in PostgreSQL's text format (new rows only; several times cheaper
//!   for PostgreSQL to read, which is what makes a replay fast).
//!
//! Times are written at the microsecond precision PostgreSQL keeps (truncated, as a bound
//! parameter would be), so both ways store the same values.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// Below this many new rows, a COPY's extra round trips cost more than they save.
pub const COPY_MIN_ROWS: usize = 32;

/// A row of one read-model table.
pub trait TableRow: Serialize {
    /// Its columns, named as the JSON form's keys are, in the order `copy_fields` writes them.
    const COLUMNS: &'static [&'static str];

    /// Writes the row's fields, in [`Self::COLUMNS`] order, to a COPY line.
    fn copy_fields(&self, line: &mut CopyLine) -> anyhow::Result<()>;
}

/// A time as PostgreSQL stores it (microseconds, truncated).
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Same, for an optional time.
pub fn ts_opt(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(ts)
}

/// Lines of COPY text format: fields separated by tabs, `\N` for NULL, backslash escapes.
#[derive(Default)]
pub struct CopyLine {
    buf: String,
    at_line_start: bool,
}

impl CopyLine {
    fn new() -> Self {
        Self {
            buf: String::new(),
            at_line_start: true,
        }
    }

    fn separate(&mut self) {
        if !self.at_line_start {
            self.buf.push('\t');
        }
        self.at_line_start = false;
    }

    fn end_line(&mut self) {
        self.buf.push('\n');
        self.at_line_start = true;
    }

    /// A text value (or NULL), escaped.
    pub fn text(&mut self, v: Option<&str>) {
        self.separate();
        let Some(s) = v else {
            self.buf.push_str("\\N");
            return;
        };
        for c in s.chars() {
            match c {
                '\\' => self.buf.push_str("\\\\"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                '\t' => self.buf.push_str("\\t"),
                c => self.buf.push(c),
            }
        }
    }

    /// A value written by its `Display` (numbers, ids: nothing to escape), or NULL.
    pub fn plain(&mut self, v: Option<impl std::fmt::Display>) {
        self.separate();
        match v {
            Some(v) => {
                let _ = write!(self.buf, "{v}");
            }
            None => self.buf.push_str("\\N"),
        }
    }

    pub fn uuid(&mut self, v: Option<Uuid>) {
        self.plain(v);
    }

    pub fn bool(&mut self, v: bool) {
        self.plain(Some(if v { 't' } else { 'f' }));
    }

    pub fn time(&mut self, v: Option<DateTime<Utc>>) {
        self.plain(ts_opt(v));
    }

    pub fn date(&mut self, v: Option<NaiveDate>) {
        self.plain(v);
    }

    /// A `uuid[]` value.
    pub fn uuids(&mut self, v: &[Uuid]) {
        let list: Vec<String> = v.iter().map(Uuid::to_string).collect();
        self.plain(Some(format!("{{{}}}", list.join(","))));
    }

    /// A `json`/`jsonb` value: the value serialized, escaped.
    pub fn json(&mut self, v: &impl Serialize) -> anyhow::Result<()> {
        let s = serde_json::to_string(v)?;
        self.text(Some(&s));
        Ok(())
    }
}

/// Inserts `rows` into `table` in one statement, with the given `ON CONFLICT …` clause (or "").
pub async fn insert_rows<R: TableRow>(
    tx: &mut PgConnection,
    table: &str,
    rows: &[R],
    on_conflict: &str,
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = insert_statement::<R>(table, "$1", on_conflict);
    sqlx::query(&sql)
        .bind(serde_json::to_string(rows)?)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Inserts `rows` into `table`, replacing the row with the same `key` (every other column is
/// overwritten). The rows must have distinct keys.
pub async fn upsert_rows<R: TableRow>(
    tx: &mut PgConnection,
    table: &str,
    key: &[&str],
    rows: &[R],
) -> anyhow::Result<()> {
    insert_rows(tx, table, rows, &replacing::<R>(key)).await
}

/// The INSERT of [`insert_rows`], taking the rows as a JSON array in parameter `param` (e.g.
/// `$1`), for a statement that writes other tables too.
pub fn insert_statement<R: TableRow>(table: &str, param: &str, on_conflict: &str) -> String {
    let list = R::COLUMNS.join(", ");
    format!(
        "INSERT INTO {table} ({list})
         SELECT {list} FROM jsonb_populate_recordset(NULL::{table}, {param}::text::jsonb) {on_conflict}"
    )
}

/// The `ON CONFLICT` clause of [`upsert_rows`]: the row with the same `key` is replaced.
pub fn replacing<R: TableRow>(key: &[&str]) -> String {
    let updates: Vec<String> = R::COLUMNS
        .iter()
        .filter(|c| !key.contains(c))
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    format!(
        "ON CONFLICT ({}) DO UPDATE SET {}",
        key.join(", "),
        updates.join(", ")
    )
}

/// Adds `rows`, none of which exists yet, to `table` with `COPY` (fails on a duplicate key).
pub async fn copy_rows<R: TableRow>(
    tx: &mut PgConnection,
    table: &str,
    rows: &[R],
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut line = CopyLine::new();
    for r in rows {
        r.copy_fields(&mut line)?;
        line.end_line();
    }
    let statement = format!("COPY {table} ({}) FROM STDIN", R::COLUMNS.join(", "));
    let mut copy = tx.copy_in_raw(&statement).await?;
    copy.send(line.buf.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// Writes the rows of folded streams: COPY for the new ones when there are enough of them,
/// an upsert for the rest. `rows` pairs each row with whether its stream already had one.
pub async fn write_rows<R: TableRow>(
    tx: &mut PgConnection,
    table: &str,
    key: &[&str],
    rows: Vec<(bool, R)>,
) -> anyhow::Result<()> {
    let new = rows.iter().filter(|(existed, _)| !existed).count();
    if new < COPY_MIN_ROWS {
        let all: Vec<R> = rows.into_iter().map(|(_, r)| r).collect();
        return upsert_rows(tx, table, key, &all).await;
    }
    let (existing, new): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(existed, _)| *existed);
    let existing: Vec<R> = existing.into_iter().map(|(_, r)| r).collect();
    let new: Vec<R> = new.into_iter().map(|(_, r)| r).collect();
    upsert_rows(tx, table, key, &existing).await?;
    copy_rows(tx, table, &new).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_truncated_to_microseconds() {
        let t = Utc.timestamp_opt(1_700_000_000, 123_456_999).unwrap();
        assert_eq!(ts(t), "2023-11-14T22:13:20.123456Z");
    }

    #[test]
    fn copy_text_escapes_what_the_format_reserves() {
        let mut l = CopyLine::new();
        l.text(Some("a\tb\\c\nd\re"));
        l.text(None);
        l.bool(true);
        l.uuids(&[Uuid::nil()]);
        l.json(&serde_json::json!({"k": "x\ny"})).unwrap();
        l.end_line();
        assert_eq!(
            l.buf,
            "a\\tb\\\\c\\nd\\re\t\\N\tt\t{00000000-0000-0000-0000-000000000000}\t{\"k\":\"x\\\\ny\"}\n"
        );
    }
}
