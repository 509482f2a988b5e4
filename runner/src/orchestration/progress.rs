//! Progress for people: typed events from the layers, shown as indicatif bars
//! on a terminal, or as one line per event when stderr is a log (CI), where
//! bars would print nothing useful.

use crate::report::CellStatus;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a kernel preparation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelEnd {
    Built,
    Cached,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A unit still running moved on ("make bzImage", "booting").
    Step {
        label: String,
        text: String,
    },
    /// A kernel build really started (not a cache hit).
    KernelStarted {
        label: String,
    },
    KernelDone {
        label: String,
        end: KernelEnd,
        secs: f64,
    },
    GuestDone {
        label: String,
        ok: bool,
    },
    CellDone {
        name: String,
        status: CellStatus,
        secs: f64,
    },
}

impl Event {
    pub fn step(label: &str, text: &str) -> Event {
        Event::Step {
            label: label.to_string(),
            text: text.to_string(),
        }
    }
}

/// Where events go; cheap to clone into spawned tasks.
pub type Sink = Arc<dyn Fn(Event) + Send + Sync>;

pub fn quiet() -> Sink {
    Arc::new(|_| {})
}

/// The status as reports spell it (serde's kebab-case), e.g. protocol-error.
pub fn status_name(s: CellStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{s:?}"))
}

/// One line per finished thing, or None for events a log does not need.
pub fn line(e: &Event, done: usize, total: usize) -> Option<String> {
    match e {
        Event::Step { .. } => None,
        Event::KernelStarted { label } => Some(format!("{label}: build started")),
        Event::KernelDone { label, end, secs } => Some(match end {
            KernelEnd::Built => format!("{label}: built in {secs:.1} s"),
            KernelEnd::Cached => format!("{label}: cached ({secs:.1} s)"),
            KernelEnd::Failed(e) => format!("{label}: FAILED after {secs:.1} s: {e}"),
        }),
        Event::GuestDone { label, ok } => {
            Some(format!("{label}: {}", if *ok { "ready" } else { "FAILED" }))
        }
        Event::CellDone { name, status, secs } => Some(format!(
            "cell {name}: {} in {secs:.1} s [{done}/{total}]",
            status_name(*status)
        )),
    }
}

/// The progress display of one command.
pub struct Ui {
    started: Instant,
    total: usize,
    done: AtomicUsize,
    bars: Option<Bars>,
}

impl Ui {
    /// Bars when stderr is a terminal, lines otherwise. `cells` is 0 when
    /// the command boots nothing (build).
    pub fn new(cells: usize) -> Arc<Ui> {
        let bars = std::io::stderr().is_terminal().then(|| Bars::new(cells));
        Arc::new(Ui {
            started: Instant::now(),
            total: cells,
            done: AtomicUsize::new(0),
            bars,
        })
    }

    pub fn sink(self: &Arc<Self>) -> Sink {
        let me = self.clone();
        Arc::new(move |e| me.handle(e))
    }

    pub fn handle(&self, e: Event) {
        let done = match e {
            Event::CellDone { .. } => self.done.fetch_add(1, Ordering::SeqCst) + 1,
            _ => self.done.load(Ordering::SeqCst),
        };
        match &self.bars {
            Some(b) => b.handle(&e),
            None => {
                if let Some(l) = line(&e, done, self.total) {
                    eprintln!("kmatrix: {l}");
                }
            }
        }
    }

    /// Clears the bars; in line mode prints the total.
    pub fn finish(&self, summary: &str) {
        match &self.bars {
            Some(b) => {
                let _ = b.multi.clear();
            }
            None => eprintln!(
                "kmatrix: total {:.1} s{}{summary}",
                self.started.elapsed().as_secs_f64(),
                if summary.is_empty() { "" } else { ": " }
            ),
        }
    }
}

/// An overall bar with ETA, above one indicatif line per label (kernel
/// build, guest, VM).
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    overall: Option<ProgressBar>,
}

impl Bars {
    fn new(cells: usize) -> Self {
        let multi = MultiProgress::new();
        let overall = (cells > 0).then(|| {
            let o = multi.add(ProgressBar::new(cells as u64));
            o.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} cells  {elapsed} elapsed, ETA {eta}",
                )
                .unwrap(),
            );
            o.enable_steady_tick(Duration::from_millis(500));
            o
        });
        Bars {
            multi,
            bars: Mutex::new(HashMap::new()),
            overall,
        }
    }

    fn bar(&self, label: &str, f: impl FnOnce(&ProgressBar)) {
        let mut bars = self.bars.lock().unwrap();
        let bar = bars.entry(label.to_string()).or_insert_with(|| {
            let b = self.multi.add(ProgressBar::new_spinner());
            b.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {prefix:40} {msg}").unwrap(),
            );
            b.set_prefix(label.to_string());
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        f(bar)
    }

    fn handle(&self, e: &Event) {
        let fin = |label: &str, msg: String| self.bar(label, |b| b.finish_with_message(msg));
        match e {
            Event::Step { label, text } => self.bar(label, |b| b.set_message(text.clone())),
            Event::KernelStarted { label } => self.bar(label, |b| b.set_message("build started")),
            Event::KernelDone { label, end, secs } => fin(
                label,
                match end {
                    KernelEnd::Built => format!("built in {secs:.0} s"),
                    KernelEnd::Cached => "cached".into(),
                    KernelEnd::Failed(_) => "failed".into(),
                },
            ),
            Event::GuestDone { label, ok } => {
                fin(label, if *ok { "ready" } else { "failed" }.into())
            }
            Event::CellDone { name, status, secs } => {
                fin(name, format!("{} ({secs:.1} s)", status_name(*status)));
                if let Some(o) = &self.overall {
                    o.inc(1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_spelled_as_in_reports() {
        assert_eq!(status_name(CellStatus::ProtocolError), "protocol-error");
        assert_eq!(status_name(CellStatus::Ok), "ok");
    }

    #[test]
    fn a_log_gets_one_line_per_finished_thing() {
        let cell = Event::CellDone {
            name: "x86_64/aio-on/cpu2".into(),
            status: CellStatus::ProtocolError,
            secs: 3.04,
        };
        assert_eq!(
            line(&cell, 2, 4).unwrap(),
            "cell x86_64/aio-on/cpu2: protocol-error in 3.0 s [2/4]"
        );
        let k = Event::KernelDone {
            label: "kernel arm64/aio-off".into(),
            end: KernelEnd::Built,
            secs: 151.0,
        };
        assert_eq!(
            line(&k, 0, 4).unwrap(),
            "kernel arm64/aio-off: built in 151.0 s"
        );
        assert!(line(&Event::step("kernel x", "make Image"), 0, 4).is_none());
        assert!(line(
            &Event::KernelStarted {
                label: "kernel x".into()
            },
            0,
            4
        )
        .unwrap()
        .contains("build started"));
    }
}
