// `sqlx::migrate!` (src/db.rs) embeds migrations/ when this crate compiles,
// and cargo does not know it read that folder: a new migration file left the
// built binary a migration short ("up to date") until some source of this
// crate changed. Declaring the folder makes a new file rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
