//! Rebuild when a migration is added or changed: the tests embed them with `sqlx::migrate!`.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
