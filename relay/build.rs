//! The participant page and the wasm package are built into the binary (`src/assets.rs`):
//! rebuild it whenever anything under `www/` changes, files added or removed included.

fn main() {
    let www = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../www");
    println!("cargo:rerun-if-changed={}", www.display());
    watch(&www);
    if !www.join("pkg").is_dir() {
        println!(
            "cargo:warning=www/pkg is missing: this relay serves a page that cannot start (run `make build`, which builds the wasm package first)"
        );
    }
}

/// Directories too: cargo notices a file added to a watched directory.
fn watch(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            watch(&path);
        }
    }
}
