// Embeds guest-init's sources and the protocol crate's (which the guest is
// linked against) so `kmatrix` can build the guest for any arch without the
// checkout next to it.
use std::path::Path;

/// The checkout being built, read when the script runs: `env!` would bake
/// in the checkout the script was compiled in, and a target directory
/// copied to another worktree would then embed the first one's guest.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for build scripts")
}

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
    let src = Path::new(&manifest_dir()).join(dir).canonicalize().unwrap();
    println!("cargo:rerun-if-changed={}", src.display());
    let mut items = Vec::new();
    walk(&src, &src, &mut items);
    format!(
        "pub const {name}: &[(&str, &str)] = &[\n{}\n];\n",
        items.join("\n")
    )
}

/// `ARCH_TABLES`: (toml, fragment, debug fragment, compat fragment) of
/// every kernels/arch/NAME.toml, its NAME.config, NAME.debug.config and
/// NAME.compat.config (empty when absent), so adding an arch is adding
/// those files.
fn arch_tables() -> String {
    let dir = Path::new(&manifest_dir())
        .join("../kernels/arch")
        .canonicalize()
        .unwrap();
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut tomls: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    tomls.sort();
    let items: Vec<String> = tomls
        .iter()
        .map(|t| {
            let frag = t.with_extension("config");
            assert!(frag.exists(), "{} has no {}", t.display(), frag.display());
            println!("cargo:rerun-if-changed={}", t.display());
            println!("cargo:rerun-if-changed={}", frag.display());
            let optional = |ext: &str| {
                let p = t.with_extension(ext);
                println!("cargo:rerun-if-changed={}", p.display());
                match p.exists() {
                    true => format!("include_str!({:?})", p.display().to_string()),
                    false => "\"\"".to_string(),
                }
            };
            let (debug, compat) = (optional("debug.config"), optional("compat.config"));
            format!(
                "(include_str!({:?}), include_str!({:?}), {debug}, {compat}),",
                t.display().to_string(),
                frag.display().to_string()
            )
        })
        .collect();
    format!(
        "pub const ARCH_TABLES: &[(&str, &str, &str, &str)] = &[\n{}\n];\n",
        items.join("\n")
    )
}

fn main() {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let code =
        embed("../guest-init/src", "GUEST_SOURCES") + &embed("../proto/src", "PROTO_SOURCES");
    std::fs::write(out.join("guest_sources.rs"), code).unwrap();
    std::fs::write(out.join("arch_tables.rs"), arch_tables()).unwrap();
}
