//! The matrix: which cells to run. A cell is one VM boot: an arch, a kernel
//! config, sysctls, CPUs and memory.

use crate::arch::Arch;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cell {
    /// Stable name, e.g. "x86_64/aio-on/max65536/cpu2"
    pub name: String,
    pub arch: String,
    /// Kernel config name (aio-on, aio-off) or "prebuilt".
    pub config: String,
    /// Value written to fs.aio-max-nr before the probe; None leaves the
    /// kernel default.
    pub aio_max_nr: Option<u64>,
    pub cpus: u32,
    pub mem_mb: u32,
    pub timeout_s: u64,
}

/// Axes of a matrix; the cells are their product.
#[derive(Debug, Clone)]
pub struct Axes {
    pub arches: Vec<Arch>,
    pub configs: Vec<String>,
    pub aio_max_nr: Vec<Option<u64>>,
    pub cpus: Vec<u32>,
    pub mem_mb: Vec<u32>,
    pub timeout_s: u64,
}

impl Axes {
    /// The default matrix: both arches, CONFIG_AIO on and off.
    pub fn default_matrix(arches: Vec<Arch>) -> Self {
        Axes {
            arches,
            configs: vec!["aio-on".into(), "aio-off".into()],
            aio_max_nr: vec![None],
            cpus: vec![2],
            mem_mb: vec![512],
            timeout_s: 120,
        }
    }

    pub fn cells(&self) -> Vec<Cell> {
        let mut out = Vec::new();
        for a in &self.arches {
            for c in &self.configs {
                for m in &self.aio_max_nr {
                    for &cpus in &self.cpus {
                        for &mem in &self.mem_mb {
                            let max = m.map_or("maxdefault".to_string(), |v| format!("max{v}"));
                            out.push(Cell {
                                name: format!("{}/{c}/{max}/cpu{cpus}/mem{mem}", a.name),
                                arch: a.name.clone(),
                                config: c.clone(),
                                aio_max_nr: *m,
                                cpus,
                                mem_mb: mem,
                                timeout_s: self.timeout_s,
                            });
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn default_matrix_is_four_cells_with_unique_names() {
        let cells = Axes::default_matrix(crate::arch::all()).cells();
        assert_eq!(cells.len(), 4);
        let mut names: Vec<_> = cells.iter().map(|c| c.name.clone()).collect();
        names.dedup();
        assert_eq!(names.len(), 4);
        assert!(cells.iter().any(|c| c.arch == "arm64" && c.config == "aio-off"));
    }
}
