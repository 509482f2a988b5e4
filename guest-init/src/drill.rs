//! Fault drills (kmatrix.drill=NAME): the guest misbehaves on purpose, in
//! one specific way, so the host's failure handling is tested against a
//! real VM rather than a mock. A drill replaces the normal run: it starts
//! once the results port is open and never returns.

use kmatrix_proto::catalogue::ids;
use kmatrix_proto::obs::key;
use std::io::Write;
use std::time::Duration;

use crate::out::{console, Port};
use crate::record;
use crate::sys;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drill {
    /// hello, then PID 1 exits: the kernel panics ("Attempted to kill init").
    Panic,
    /// hello, then nothing, forever: the host must time out.
    Hang,
    /// No record at all, then power off.
    Silent,
    /// hello, a non-JSON line (ESC, invalid UTF-8), a valid end, power off.
    Garbage,
    /// hello and half an experiment record (no newline), power off.
    Truncate,
    /// hello, then endless 64 KiB lines on the results port.
    Flood,
    /// hello, then endless lines on the console; never powers off.
    FloodConsole,
    /// hello, one experiment, half a record, then silence without power-off:
    /// the stream stalls mid-record past the host's timeout.
    Stall,
    /// hello and one whole experiment record, then power off: valid records
    /// but no end record.
    NoEnd,
    /// hello, then records whose ids, tags, argv and paths are hostile
    /// (`../`, absolute paths, NUL, 100 KiB strings), a valid end, power off.
    Hostile,
}

const ALL: [Drill; 10] = [
    Drill::Panic,
    Drill::Hang,
    Drill::Silent,
    Drill::Garbage,
    Drill::Truncate,
    Drill::Flood,
    Drill::FloodConsole,
    Drill::Stall,
    Drill::NoEnd,
    Drill::Hostile,
];

impl Drill {
    pub fn as_str(self) -> &'static str {
        match self {
            Drill::Panic => "panic",
            Drill::Hang => "hang",
            Drill::Silent => "silent",
            Drill::Garbage => "garbage",
            Drill::Truncate => "truncate",
            Drill::Flood => "flood",
            Drill::FloodConsole => "flood-console",
            Drill::Stall => "stall",
            Drill::NoEnd => "no-end",
            Drill::Hostile => "hostile",
        }
    }

    /// The drill named `name` (exact, case-sensitive), if there is one.
    pub fn parse(name: &str) -> Option<Drill> {
        ALL.iter().copied().find(|d| d.as_str() == name)
    }
}

/// Length of one flood line, without its newline.
const FLOOD_LINE: usize = 64 * 1024;

/// Performs `drill`. `hello` is the hello record line, written first by
/// every drill except `silent`.
pub fn run(drill: Drill, port: &mut Port, hello: &str) -> ! {
    console(&format!("kmatrix-guest: drill {}", drill.as_str()));
    if drill != Drill::Silent {
        port.line(hello);
    }
    match drill {
        Drill::Panic => {
            console("kmatrix-guest: drill panic: PID 1 exits now");
            // Deliberately what main() otherwise never allows.
            std::process::exit(1)
        }
        Drill::Hang => sleep_forever(),
        Drill::Silent => sys::power_off(),
        Drill::Garbage => {
            // An ESC sequence, bytes that are not UTF-8 and an unclosed
            // object: whatever the host's parser trips over first.
            let _ = port.raw(b"\x1b[31mkmatrix garbage \xff\xfe\xc3\x28 {\"v\":1,\"type\":\n");
            port.line(&record::end(0));
            sys::power_off()
        }
        Drill::Truncate => {
            let rec = record::experiment(
                ids::SETUP_BASIC,
                record::Fate::Exited,
                "{\"ret\":0,\"errno\":0}",
            );
            let half = rec.len() / 2;
            let _ = port.raw(rec.as_bytes().get(..half).unwrap_or_default());
            sys::power_off()
        }
        Drill::Stall => {
            port.line(&basic_record());
            let rec = basic_record();
            let _ = port.raw(rec.as_bytes().get(..rec.len() / 2).unwrap_or_default());
            sleep_forever()
        }
        Drill::NoEnd => {
            port.line(&basic_record());
            sys::power_off()
        }
        Drill::Hostile => {
            let n = hostile(port);
            port.line(&record::end(n));
            sys::power_off()
        }
        Drill::Flood => flood_port(port),
        Drill::FloodConsole => flood_console(),
    }
}

/// Paths a host must never follow: the drill test checks none appears.
pub const HOSTILE_PATHS: [&str; 4] = [
    "../../../../../../tmp/kmatrix-hostile-rel",
    "/tmp/kmatrix-hostile-abs",
    "/tmp/kmatrix-hostile-nul\u{0}.json",
    "kmatrix-hostile-plain",
];

/// Writes the hostile records; returns how many experiments it wrote.
fn hostile(port: &mut Port) -> u64 {
    use crate::json::{Arr, Obj};
    let long = "../".repeat(100 * 1024 / 3);
    let mut n = 0;
    for p in HOSTILE_PATHS.iter().copied().chain([long.as_str()]) {
        let mut argv = Arr::new();
        for a in [p, "\u{0}", "-rf", "/"] {
            let mut quoted = String::new();
            crate::json::push_string(&mut quoted, a);
            argv.push_raw(&quoted);
        }
        let mut o = Obj::new();
        o.str(key::STATUS, "exit:0")
            .str(key::PATH, p)
            .str(key::TAG, p)
            .raw(key::ARGV, &argv.to_json())
            .str(key::STDOUT, p);
        // As exec, as a share mount, and under the hostile name itself.
        for id in ["exec", "share.mount/kmx0", p] {
            port.line(&record::experiment(id, record::Fate::Exited, &o.to_json()));
            n += 1;
        }
        port.line(&record::log(p));
    }
    n
}

/// A well-formed experiment record (what an honest guest writes first).
fn basic_record() -> String {
    record::experiment(
        ids::SETUP_BASIC,
        record::Fate::Exited,
        "{\"ret\":0,\"errno\":0}",
    )
}

fn sleep_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn flood_port(port: &mut Port) -> ! {
    let mut line = vec![b'x'; FLOOD_LINE + 1];
    if let Some(last) = line.last_mut() {
        *last = b'\n';
    }
    let mut reported = false;
    loop {
        if let Err(e) = port.raw(&line) {
            // Keep trying (the host may just be slow), but do not spin or
            // fill the console with the same error.
            if !reported {
                console(&format!("kmatrix-guest: drill flood: write failed: {e}"));
                reported = true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn flood_console() -> ! {
    let filler = "x".repeat(100);
    let mut out = std::io::stdout();
    let mut n: u64 = 0;
    loop {
        let _ = writeln!(out, "kmatrix-guest: drill flood-console {n} {filler}");
        n = n.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in ALL {
            assert_eq!(Drill::parse(d.as_str()), Some(d));
        }
        assert_eq!(Drill::parse("flood-console"), Some(Drill::FloodConsole));
        assert_eq!(Drill::parse("panic"), Some(Drill::Panic));
    }

    #[test]
    fn unknown_names() {
        for bad in ["", "PANIC", "flood_console", "hang ", "oops"] {
            assert_eq!(Drill::parse(bad), None, "{bad:?}");
        }
    }
}
