//! Writing results to stdout without dying on a closed pipe: `kmatrix
//! report ... | head` closes the pipe early, and print! would panic on
//! the EPIPE. A reader that left wants no more; that is not an error.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout; after a broken pipe, silently nothing.
pub fn emit(text: &str) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let out = std::io::stdout();
    if !write_to(&mut out.lock(), text) {
        CLOSED.store(true, Ordering::Relaxed);
    }
}

/// `text` and a newline.
pub fn emit_line(text: &str) {
    emit(&format!("{text}\n"));
}

/// Writes and flushes; false when the reader has gone (broken pipe).
/// Other errors are reported on stderr, which may still be open.
fn write_to(w: &mut impl Write, text: &str) -> bool {
    match w.write_all(text.as_bytes()).and_then(|()| w.flush()) {
        Ok(()) => true,
        Err(e) if e.kind() == ErrorKind::BrokenPipe => false,
        Err(e) => {
            eprintln!("kmatrix: writing to stdout: {e}");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Gone;
    impl Write for Gone {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_reader_is_not_an_error() {
        assert!(!write_to(&mut Gone, "x"));
        let mut v = Vec::new();
        assert!(write_to(&mut v, "abc"));
        assert_eq!(v, b"abc");
    }
}
