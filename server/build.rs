//! The migrations are embedded at compile time (`db::MIGRATIONS`): a new or
//! changed migration must rebuild the server.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
