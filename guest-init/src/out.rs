//! Where lines go: the console (our stdout, /dev/console as set up by the
//! kernel) and the virtio-serial results port.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::time::{Duration, Instant};

use crate::files;

/// The virtserialport name the host runner gives the results channel.
pub use kmatrix_proto::RESULTS_PORT as PORT_NAME;
const PORTS_DIR: &str = "/sys/class/virtio-ports";

/// One line on the console. Errors are ignored: there is nowhere else to
/// report them, and PID 1 must not panic over a missing console.
pub fn console(msg: &str) {
    let mut line = String::with_capacity(msg.len() + 1);
    line.push_str(msg);
    line.push('\n');
    let mut out = std::io::stdout();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

/// The results port, opened for writing.
pub struct Port {
    file: File,
    path: String,
}

impl Port {
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The open port's descriptor, for a process that inherits it.
    pub fn fd(&self) -> i32 {
        use std::os::unix::io::AsRawFd;
        self.file.as_raw_fd()
    }

    /// The port a parent left open at `fd` (the 32-bit probe's).
    pub fn inherited(fd: i32) -> Port {
        use std::os::unix::io::FromRawFd;
        // SAFETY: the parent dup2'ed its open port to `fd` before exec, and
        // nothing else in this process owns that descriptor.
        let file = unsafe { File::from_raw_fd(fd) };
        Port {
            file,
            path: format!("inherited fd {fd}"),
        }
    }

    /// Writes one record line. File writes are unbuffered, so each line
    /// reaches the device when this returns.
    pub fn line(&mut self, json: &str) {
        let mut buf = String::with_capacity(json.len() + 1);
        buf.push_str(json);
        buf.push('\n');
        if let Err(e) = self.file.write_all(buf.as_bytes()) {
            console(&format!(
                "kmatrix-guest: error: writing to {}: {e}",
                self.path
            ));
        }
    }

    /// Writes bytes as they are, no newline added: only fault drills use
    /// this, to send the host what a broken guest would.
    pub fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)
    }
}

/// Scans /sys/class/virtio-ports/*/name once: the matching device name (if
/// any) and a description of every port seen, for the error message.
fn scan() -> (Option<String>, Vec<String>) {
    let mut seen = Vec::new();
    let entries = match fs::read_dir(PORTS_DIR) {
        Ok(e) => e,
        Err(_) => return (None, seen),
    };
    for entry in entries.flatten() {
        let dev = entry.file_name().to_string_lossy().into_owned();
        let name = files::read_trim(&format!("{PORTS_DIR}/{dev}/name")).unwrap_or_default();
        if name == PORT_NAME {
            return (Some(dev), seen);
        }
        seen.push(format!("{dev}={name:?}"));
    }
    (None, seen)
}

/// Finds and opens the results port, retrying for `wait` because the
/// virtio device may still be probing when init starts. There is no udev,
/// so the node is /dev/<sysfs dir name>, created by devtmpfs.
pub fn find_port(wait: Duration) -> Result<Port, String> {
    let start = Instant::now();
    loop {
        let (found, seen) = scan();
        let problem = match found {
            Some(dev) => {
                let path = format!("/dev/{dev}");
                match OpenOptions::new().write(true).open(&path) {
                    Ok(file) => return Ok(Port { file, path }),
                    Err(e) => format!("found {PORT_NAME} as {dev} but cannot open {path}: {e}"),
                }
            }
            None if seen.is_empty() => format!("no virtio ports under {PORTS_DIR}"),
            None => format!("no port named {PORT_NAME} (seen: {})", seen.join(", ")),
        };
        if start.elapsed() >= wait {
            return Err(format!("{problem} after {} ms", wait.as_millis()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
