// Embeds guest-init's sources and the protocol crate's (which the guest is
// linked against) so `kmatrix` can build the guest for any arch without the
// checkout next to it.
use std::path::Path;

fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            walk(&p, base, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            out.push(format!(
                "({rel:?}, include_str!({:?})),",
                p.display().to_string()
            ));
        }
    }
}

/// `pub const NAME: &[(&str, &str)]`: (path relative to `dir`, text) of every .rs file.
fn embed(dir: &str, name: &str) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(dir)
        .canonicalize()
        .unwrap();
    println!("cargo:rerun-if-changed={}", src.display());
    let mut items = Vec::new();
    walk(&src, &src, &mut items);
    format!(
        "pub const {name}: &[(&str, &str)] = &[\n{}\n];\n",
        items.join("\n")
    )
}

fn main() {
    let code = embed("../guest-init/src", "GUEST_SOURCES") + &embed("../proto/src", "PROTO_SOURCES");
    std::fs::write(
        Path::new(&std::env::var("OUT_DIR").unwrap()).join("guest_sources.rs"),
        code,
    )
    .unwrap();
}
