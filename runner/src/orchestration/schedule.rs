//! In which order cells start. A matrix finishes soonest when its longest
//! cells start first (with -j2, one 40 s cell started last leaves a core
//! idle for 40 s). How long a cell takes is read from the last runs (a
//! small history in the cache, keyed by cell name, like ninja's log); a
//! cell never seen gets a first guess. The order is only a schedule: the
//! report keeps the matrix order.

use crate::matrix::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Cell name -> last wall time in ms.
pub type History = BTreeMap<String, u64>;

pub fn history_path() -> PathBuf {
    crate::util::cache::root().join("cell-times.json")
}

/// The history, or an empty one if there is none or it does not parse
/// (a schedule hint is not worth failing a run for).
pub fn load(path: &Path) -> History {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Adds this run's times to the history file. Errors are returned for the
/// caller to mention; they never change a verdict.
pub fn record(path: &Path, times: &[(String, u64)]) -> anyhow::Result<()> {
    let mut h = load(path);
    for (name, ms) in times {
        h.insert(name.clone(), *ms);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::util::cache::write_atomic(path, &serde_json::to_vec_pretty(&h)?)
}

/// First guess for a cell with no history: aio-on cells run the whole
/// probe; less memory and a larger fs.aio-max-nr let the big-ring steps
/// run into reclaim and the OOM killer; more vCPUs share the host's cores.
fn guess(c: &Cell) -> (bool, std::cmp::Reverse<u32>, u64, u32) {
    (
        c.config == crate::matrix::Config::AioOn,
        std::cmp::Reverse(c.mem_mb),
        c.aio_max_nr.unwrap_or(0),
        c.cpus,
    )
}

/// Indices into `cells`, longest expected first: cells with a recorded
/// time by that time, cells never seen before them (unknown may be long),
/// ties and unseen cells by the first guess, then matrix order.
pub fn longest_first(cells: &[Cell], history: &History) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..cells.len()).collect();
    idx.sort_by(|&a, &b| {
        let (ca, cb) = (&cells[a], &cells[b]);
        let (ta, tb) = (history.get(&ca.name), history.get(&cb.name));
        let by_time = match (ta, tb) {
            (Some(x), Some(y)) => y.cmp(x),
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        by_time
            .then_with(|| guess(cb).cmp(&guess(ca)))
            .then(a.cmp(&b))
    });
    idx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Axes;

    fn cells() -> Vec<Cell> {
        let mut axes = Axes::default_matrix(vec![crate::matrix::arch::by_name("x86_64").unwrap()]);
        axes.configs = vec![crate::matrix::Config::AioOff, crate::matrix::Config::AioOn];
        axes.aio_max_nr = vec![None, Some(u64::MAX)];
        axes.cpus = vec![1, 2];
        axes.mem_mb = vec![256, 512];
        axes.cells()
    }

    #[test]
    fn recorded_times_decide_longest_first() {
        let cs = cells();
        let mut h = History::new();
        for (i, c) in cs.iter().enumerate() {
            h.insert(c.name.clone(), 1000 + i as u64);
        }
        let order = longest_first(&cs, &h);
        let times: Vec<u64> = order.iter().map(|&i| h[&cs[i].name]).collect();
        let mut sorted = times.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(times, sorted);
        // Every cell once.
        let mut seen = order.clone();
        seen.sort();
        assert_eq!(seen, (0..cs.len()).collect::<Vec<_>>());
    }

    #[test]
    fn without_history_aio_on_small_memory_big_limit_first() {
        let cs = cells();
        let order = longest_first(&cs, &History::new());
        let first = &cs[order[0]];
        assert_eq!(first.config, crate::matrix::Config::AioOn);
        assert_eq!(first.mem_mb, 256);
        assert_eq!(first.aio_max_nr, Some(u64::MAX));
        assert_eq!(
            cs[*order.last().unwrap()].config,
            crate::matrix::Config::AioOff
        );
    }

    #[test]
    fn unseen_cells_start_before_seen_ones() {
        let cs = cells();
        let mut h = History::new();
        h.insert(cs[0].name.clone(), 60_000);
        let order = longest_first(&cs, &h);
        assert_eq!(*order.last().unwrap(), 0);
    }

    #[test]
    fn history_round_trips_and_survives_garbage() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.json");
        assert!(load(&p).is_empty());
        record(&p, &[("a".into(), 5)]).unwrap();
        record(&p, &[("b".into(), 7)]).unwrap();
        let h = load(&p);
        assert_eq!((h["a"], h["b"]), (5, 7));
        std::fs::write(&p, b"{not json").unwrap();
        assert!(load(&p).is_empty());
        record(&p, &[("c".into(), 1)]).unwrap();
        assert_eq!(load(&p)["c"], 1);
    }
}
