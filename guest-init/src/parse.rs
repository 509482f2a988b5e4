//! Pure parsers for the kernel text files guest-init reads (/proc, /sys).
//! They take text, not paths, so they can be unit-tested on the host.

/// A u64 with surrounding whitespace, as /proc/sys files hold them.
pub fn u64_trim(s: &str) -> Option<u64> {
    s.trim().parse().ok()
}

/// Number of CPUs in a kernel cpu list such as "0-3,6\n" (the format of
/// /sys/devices/system/cpu/possible, which num_possible_cpus() counts).
pub fn cpu_list_count(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for part in s.split(',') {
        let count = match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
                b.checked_sub(a)?.checked_add(1)?
            }
            None => {
                let _: u64 = part.parse().ok()?;
                1
            }
        };
        n = n.checked_add(count)?;
    }
    Some(n)
}

/// A "Key:   1234 kB" field of /proc/self/status or /proc/meminfo, in kB.
pub fn kb_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, rest) = line.split_once(':')?;
        if k != key {
            return None;
        }
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// One line of /proc/<pid>/maps.
#[derive(Debug, PartialEq, Eq)]
pub struct MapsEntry<'a> {
    pub start: u64,
    pub end: u64,
    pub perms: &'a str,
    pub line: &'a str,
}

/// Parses "start-end perms offset dev inode [path]".
pub fn maps_entry(line: &str) -> Option<MapsEntry<'_>> {
    let mut words = line.split_whitespace();
    let (start, end) = words.next()?.split_once('-')?;
    let perms = words.next()?;
    Some(MapsEntry {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        perms,
        line,
    })
}

/// The maps entry whose range [start, end) contains `addr`.
pub fn maps_covering(text: &str, addr: u64) -> Option<MapsEntry<'_>> {
    text.lines()
        .filter_map(maps_entry)
        .find(|e| e.start <= addr && addr < e.end)
}

/// How many maps lines contain `needle` (e.g. "[aio]" for aio rings).
pub fn maps_count_containing(text: &str, needle: &str) -> u64 {
    text.lines().filter(|l| l.contains(needle)).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list_count("0-3\n"), Some(4));
        assert_eq!(cpu_list_count("0"), Some(1));
        assert_eq!(cpu_list_count("0-1,4-5,7\n"), Some(5));
        assert_eq!(cpu_list_count(""), None);
        assert_eq!(cpu_list_count("3-1"), None);
        assert_eq!(cpu_list_count("x"), None);
        assert_eq!(cpu_list_count("0-"), None);
    }

    #[test]
    fn kb_fields() {
        let status = "Name:\tinit\nVmPeak:\t    2300 kB\nVmSize:\t    2244 kB\n";
        assert_eq!(kb_field(status, "VmSize"), Some(2244));
        assert_eq!(kb_field(status, "VmRSS"), None);
        let meminfo = "MemTotal:         493000 kB\nMemFree:          480000 kB\n";
        assert_eq!(kb_field(meminfo, "MemTotal"), Some(493_000));
        assert_eq!(kb_field(meminfo, "Mem"), None);
    }

    const MAPS: &str = "\
00400000-00500000 r-xp 00000000 00:02 5                                  /init
7f0000000000-7f0000001000 rw-s 00000000 00:0e 1031                       /[aio] (deleted)
7f0000002000-7f0000004000 rw-s 00000000 00:0e 1032                       /[aio] (deleted)
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
";

    #[test]
    fn maps_lookup() {
        let e = maps_covering(MAPS, 0x7f00_0000_0000).unwrap();
        assert_eq!(
            (e.start, e.end, e.perms),
            (0x7f00_0000_0000, 0x7f00_0000_1000, "rw-s")
        );
        assert!(e.line.ends_with("/[aio] (deleted)"));
        assert_eq!(
            maps_covering(MAPS, 0x7f00_0000_0fff).unwrap().start,
            0x7f00_0000_0000
        );
        // End is exclusive; the gap between the two rings is uncovered.
        assert_eq!(maps_covering(MAPS, 0x7f00_0000_1000), None);
        assert_eq!(
            maps_covering(MAPS, 0x7f00_0000_3000).unwrap().start,
            0x7f00_0000_2000
        );
        assert_eq!(maps_covering(MAPS, 0), None);
        assert_eq!(maps_covering("garbage\n\n", 5), None);
        assert_eq!(maps_count_containing(MAPS, "[aio]"), 2);
        assert_eq!(maps_count_containing("", "[aio]"), 0);
    }

    #[test]
    fn u64s() {
        assert_eq!(u64_trim("65536\n"), Some(65536));
        assert_eq!(u64_trim("18446744073709551615\n"), Some(u64::MAX));
        assert_eq!(u64_trim("-1"), None);
    }
}
