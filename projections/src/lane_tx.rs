//! A projection lane's transaction: begun together with the projection's lock, and committed
//! together with the move of its checkpoint, one round trip each.
//!
//! A `sqlx::Transaction` sends its `COMMIT` on its own, so a batch ended with two round trips
//! (the checkpoint's UPDATE, then the COMMIT), and the transaction id that the UPDATE takes held
//! back every reader of the log (see `log.rs`) for the time of the second one. Here both go in
//! one simple-query message. A transaction dropped while still open (an error on the way) is not
//! handed back to the pool: its connection is closed, which ends the transaction on the server.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{Executor, PgConnection, PgPool, Postgres};

use crate::log::{Checkpoint, LOG_READS_BY_INDEX};

/// An open transaction of one projection, holding its advisory lock.
pub struct LaneTx {
    conn: PoolConnection<Postgres>,
    open: bool,
}

/// `text` as an SQL string literal.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl LaneTx {
    /// Begins a transaction of projection `name` and takes its lock. The lock is an advisory
    /// lock, not `FOR UPDATE`: a row lock gives the transaction an id, and an open transaction
    /// id holds back every reader of the log (see `log.rs`) until it ends, even one that applies
    /// nothing. It goes with the `BEGIN` (one round trip); the checkpoint is read by a later
    /// statement (with the batch), once the lock is held, so that it sees the last holder's
    /// commit.
    ///
    /// The transaction commits asynchronously (`synchronous_commit = off`: no wait for its WAL
    /// to reach the disk, which takes a disk flush off every command's read-your-writes wait).
    /// That is safe because a projection's rows and its checkpoint commit together and the
    /// events they come from were committed durably: a crash can only lose the last projection
    /// commits whole, rows and checkpoint alike, and the projection applies those events again
    /// on restart. It is visible to other sessions as soon as it commits, like any other
    /// transaction.
    ///
    /// The transaction also plans its log read by index ([`LOG_READS_BY_INDEX`]): without it,
    /// on a table never analysed, catch-up fell to ~2,800 events/s and each command's
    /// read-your-writes wait grew to ~50 ms. The projections' own statements read and write rows
    /// by key, where index scans are what they use anyway.
    pub async fn begin(pool: &PgPool, name: &str) -> Result<LaneTx, sqlx::Error> {
        let mut tx = LaneTx {
            conn: pool.acquire().await?,
            open: true,
        };
        // A simple query takes no parameters: the name (a projection's, from the code) is quoted.
        let lock_key = quoted(&format!("projection:{name}"));
        let begin = format!(
            "BEGIN; SELECT pg_advisory_xact_lock(hashtext({lock_key})),
                set_config('synchronous_commit', 'off', true), {LOG_READS_BY_INDEX}"
        );
        tx.simple(&begin).await?;
        Ok(tx)
    }

    /// Moves the checkpoint of projection `name` to `to` and commits, in one round trip.
    pub async fn commit_at(mut self, name: &str, to: Checkpoint) -> Result<(), sqlx::Error> {
        // Integers and a quoted name: nothing here needs a parameter.
        let commit = format!(
            "UPDATE projection_checkpoints
                SET tx_id = '{}'::xid8, position = {}, updated_at = now(),
                    last_error = NULL, failed_event = NULL, failing_since = NULL
              WHERE name = {};
             COMMIT",
            to.tx_id,
            to.position,
            quoted(name)
        );
        self.simple(&commit).await?;
        self.open = false;
        Ok(())
    }

    /// Sends `sql` (one or more statements, no parameters) as one simple-query message.
    async fn simple(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        let conn: &mut PgConnection = &mut self.conn;
        conn.execute(sql).await?;
        Ok(())
    }

    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.simple("ROLLBACK").await?;
        self.open = false;
        Ok(())
    }
}

impl Deref for LaneTx {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for LaneTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

impl Drop for LaneTx {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn names_are_quoted_as_literals() {
        assert_eq!(quoted("routing"), "'routing'");
        assert_eq!(quoted("it's"), "'it''s'");
    }
}
