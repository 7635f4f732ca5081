//! Dropping a test's database when the test is over, so runs against a long-lived server do not
//! pile up `t_<uuid>` databases. A failed test's database is kept for a look, and its name
//! printed with the test's output.

use std::time::Duration;

use sqlx::{Connection, PgConnection};

/// Longest a drop may take before it is given up (the database is then left behind).
const DROP_TIMEOUT: Duration = Duration::from_secs(30);

/// Drops database `name` when dropped itself, unless the thread is panicking (a failed test).
pub struct DropDatabaseAtEnd {
    pub admin_url: String,
    pub name: String,
}

impl Drop for DropDatabaseAtEnd {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test failed: its database {} is kept", self.name);
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // The test's own runtime may be shutting down or single-threaded: use a thread of our
        // own. FORCE ends the connections the test's server and pools still hold.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let drop = async {
                    let mut admin = PgConnection::connect(&admin_url).await?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await?;
                    admin.close().await
                };
                match tokio::time::timeout(DROP_TIMEOUT, drop).await {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(_) => Err(format!("no answer within {DROP_TIMEOUT:?}")),
                }
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("dropping test database {} panicked", self.name),
        }
    }
}
