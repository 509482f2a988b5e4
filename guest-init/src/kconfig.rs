//! The running kernel's config where test suites look for it. LTP and
//! kselftest read /proc/config.gz through `zcat` (popen, so /bin/sh), which
//! this guest does not have; so PID 1 inflates it to
//! /boot/config-$(uname -r), the Debian path they also try, and points
//! KCONFIG_PATH there. std only (rustc 1.63): a small RFC 1951/1952 inflater.

use crate::sys;

pub const PROC_CONFIG: &str = "/proc/config.gz";

/// Writes /boot/config-RELEASE from /proc/config.gz and sets KCONFIG_PATH
/// (unless the user set it); returns a line for the log saying what happened.
pub fn install() -> String {
    let gz = match std::fs::read(PROC_CONFIG) {
        Ok(b) => b,
        Err(e) => {
            return format!(
                "kernel config: cannot read {PROC_CONFIG} ({e}); suites that need it will not find it (CONFIG_IKCONFIG_PROC)"
            )
        }
    };
    let text = match gunzip(&gz) {
        Ok(t) => t,
        Err(e) => return format!("kernel config: {PROC_CONFIG} does not inflate: {e}"),
    };
    let release = sys::uname_release_machine()
        .map(|(r, _)| r)
        .unwrap_or_default();
    if release.is_empty() || release.contains('/') {
        return format!("kernel config: unusable uname release {release:?}");
    }
    let path = format!("/boot/config-{release}");
    let written = std::fs::create_dir_all("/boot").and_then(|()| std::fs::write(&path, &text));
    if let Err(e) = written {
        return format!("kernel config: cannot write {path}: {e}");
    }
    // Set before any program is forked; PID 1 runs no threads here.
    if std::env::var_os("KCONFIG_PATH").is_none() {
        std::env::set_var("KCONFIG_PATH", &path);
    }
    format!(
        "kernel config: {PROC_CONFIG} inflated to {path} ({} bytes), KCONFIG_PATH={}",
        text.len(),
        std::env::var("KCONFIG_PATH").unwrap_or_default()
    )
}

/// Decompresses a gzip member (RFC 1952), checking its CRC-32 and length.
pub fn gunzip(data: &[u8]) -> Result<Vec<u8>, String> {
    if data.len() < 18 || data[0] != 0x1f || data[1] != 0x8b || data[2] != 8 {
        return Err("not a gzip (deflate) stream".into());
    }
    let flags = data[3];
    let mut pos = 10;
    if flags & 4 != 0 {
        let xlen = u16::from_le_bytes([byte(data, pos)?, byte(data, pos + 1)?]) as usize;
        pos += 2 + xlen;
    }
    for bit in [8u8, 16] {
        if flags & bit != 0 {
            while byte(data, pos)? != 0 {
                pos += 1;
            }
            pos += 1;
        }
    }
    if flags & 2 != 0 {
        pos += 2;
    }
    let body = data.get(pos..).ok_or("header runs past the end")?;
    let (out, used) = inflate(body)?;
    let trailer = body.get(used..used + 8).ok_or("no gzip trailer")?;
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let len = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    if crc32(&out) != crc || out.len() as u32 != len {
        return Err("CRC or length mismatch".into());
    }
    Ok(out)
}

fn byte(d: &[u8], i: usize) -> Result<u8, String> {
    d.get(i)
        .copied()
        .ok_or_else(|| "header runs past the end".into())
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u32,
    cnt: u32,
}

impl Bits<'_> {
    fn need(&mut self, n: u32) -> Result<u32, String> {
        let mut val = self.buf;
        while self.cnt < n {
            let b = *self.data.get(self.pos).ok_or("deflate stream truncated")?;
            self.pos += 1;
            val |= (b as u32) << self.cnt;
            self.cnt += 8;
        }
        self.buf = if n >= 32 { 0 } else { val >> n };
        self.cnt -= n;
        Ok(val & ((1u32 << n) - 1))
    }
}

/// A canonical Huffman code: how many codes of each length, and the
/// symbols ordered by code.
struct Huff {
    count: [u16; 16],
    symbol: Vec<u16>,
}

impl Huff {
    fn new(lengths: &[u8]) -> Result<Huff, String> {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[l as usize] += 1;
        }
        let mut left: i32 = 1;
        for &c in &count[1..] {
            left = left * 2 - c as i32;
            if left < 0 {
                return Err("over-subscribed Huffman code".into());
            }
        }
        let mut offs = [0u16; 16];
        for l in 1..15 {
            offs[l + 1] = offs[l] + count[l];
        }
        let mut symbol = vec![0u16; lengths.len()];
        for (s, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbol[offs[l as usize] as usize] = s as u16;
                offs[l as usize] += 1;
            }
        }
        Ok(Huff { count, symbol })
    }

    fn decode(&self, b: &mut Bits) -> Result<u16, String> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= b.need(1)? as i32;
            let count = self.count[len] as i32;
            if code - count < first {
                return self
                    .symbol
                    .get((index + code - first) as usize)
                    .copied()
                    .ok_or_else(|| "bad Huffman code".to_string());
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("ran out of Huffman codes".into())
    }
}

const LBASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEXT: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DBASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DEXT: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Inflates a raw deflate stream: (output, bytes of input used).
pub fn inflate(data: &[u8]) -> Result<(Vec<u8>, usize), String> {
    let mut b = Bits {
        data,
        pos: 0,
        buf: 0,
        cnt: 0,
    };
    let mut out = Vec::new();
    loop {
        let last = b.need(1)?;
        match b.need(2)? {
            0 => {
                b.buf = 0;
                b.cnt = 0;
                let h = data.get(b.pos..b.pos + 4).ok_or("stored block truncated")?;
                let len = u16::from_le_bytes([h[0], h[1]]);
                if len != !u16::from_le_bytes([h[2], h[3]]) {
                    return Err("stored block length check failed".into());
                }
                b.pos += 4;
                let body = data
                    .get(b.pos..b.pos + len as usize)
                    .ok_or("stored block truncated")?;
                out.extend_from_slice(body);
                b.pos += len as usize;
            }
            1 => {
                let mut l = [0u8; 288];
                for (i, x) in l.iter_mut().enumerate() {
                    *x = match i {
                        0..=143 => 8,
                        144..=255 => 9,
                        256..=279 => 7,
                        _ => 8,
                    };
                }
                codes(&mut b, &mut out, &Huff::new(&l)?, &Huff::new(&[5u8; 30])?)?;
            }
            2 => {
                let (lit, dist) = dynamic(&mut b)?;
                codes(&mut b, &mut out, &lit, &dist)?;
            }
            _ => return Err("invalid block type 3".into()),
        }
        if last == 1 {
            return Ok((out, b.pos));
        }
    }
}

fn dynamic(b: &mut Bits) -> Result<(Huff, Huff), String> {
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    let nlen = b.need(5)? as usize + 257;
    let ndist = b.need(5)? as usize + 1;
    let ncode = b.need(4)? as usize + 4;
    if nlen > 286 || ndist > 30 {
        return Err("bad dynamic block counts".into());
    }
    let mut cl = [0u8; 19];
    for &o in ORDER.iter().take(ncode) {
        cl[o] = b.need(3)? as u8;
    }
    let lencode = Huff::new(&cl)?;
    let mut lengths = vec![0u8; nlen + ndist];
    let mut i = 0;
    while i < nlen + ndist {
        let sym = lencode.decode(b)?;
        if sym < 16 {
            lengths[i] = sym as u8;
            i += 1;
            continue;
        }
        let (val, rep) = match sym {
            16 => {
                let prev = *lengths
                    .get(i.wrapping_sub(1))
                    .ok_or("repeat with no previous length")?;
                (prev, 3 + b.need(2)? as usize)
            }
            17 => (0, 3 + b.need(3)? as usize),
            _ => (0, 11 + b.need(7)? as usize),
        };
        if i + rep > nlen + ndist {
            return Err("too many code lengths".into());
        }
        for l in &mut lengths[i..i + rep] {
            *l = val;
        }
        i += rep;
    }
    Ok((Huff::new(&lengths[..nlen])?, Huff::new(&lengths[nlen..])?))
}

fn codes(b: &mut Bits, out: &mut Vec<u8>, lit: &Huff, dist: &Huff) -> Result<(), String> {
    loop {
        let sym = lit.decode(b)? as usize;
        match sym {
            0..=255 => out.push(sym as u8),
            256 => return Ok(()),
            _ => {
                let s = sym - 257;
                let (base, ext) = match (LBASE.get(s), LEXT.get(s)) {
                    (Some(&base), Some(&ext)) => (base, ext),
                    _ => return Err("bad length symbol".into()),
                };
                let len = base as usize + b.need(ext as u32)? as usize;
                let d = dist.decode(b)? as usize;
                let (base, ext) = match (DBASE.get(d), DEXT.get(d)) {
                    (Some(&base), Some(&ext)) => (base, ext),
                    _ => return Err("bad distance symbol".into()),
                };
                let back = base as usize + b.need(ext as u32)? as usize;
                if back > out.len() {
                    return Err("distance too far back".into());
                }
                let start = out.len() - back;
                for k in 0..len {
                    let c = out[start + k];
                    out.push(c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    fn gzip(data: &[u8], level: &str) -> Vec<u8> {
        let mut c = Command::new("gzip")
            .args(["-c", level])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = c.stdin.take().unwrap();
        let input = data.to_vec();
        let t = std::thread::spawn(move || stdin.write_all(&input).unwrap());
        let out = c.wait_with_output().unwrap();
        t.join().unwrap();
        out.stdout
    }

    #[test]
    fn inflates_what_gzip_writes() {
        let mut text = Vec::new();
        for i in 0..5000 {
            text.extend_from_slice(
                format!("CONFIG_OPTION_{i}=y\n# CONFIG_X_{} is not set\n", i * 7).as_bytes(),
            );
        }
        // Dynamic blocks (text), fixed (tiny input), stored (noise).
        let mut noise = Vec::new();
        let mut x: u32 = 12345;
        for _ in 0..70000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            noise.push((x >> 16) as u8);
        }
        for data in [&text[..], b"CONFIG_AIO=y\n", &noise[..], b""] {
            for level in ["-1", "-9"] {
                assert_eq!(gunzip(&gzip(data, level)).unwrap(), data, "level {level}");
            }
        }
    }

    #[test]
    fn damaged_input_is_an_error_not_a_panic() {
        let gz = gzip(b"CONFIG_AIO=y\nCONFIG_AIO=y\nCONFIG_AIO=y\n", "-9");
        for cut in 0..gz.len() {
            assert!(gunzip(&gz[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = gz.clone();
        let n = bad.len();
        bad[n - 6] ^= 1; // CRC
        assert!(gunzip(&bad).is_err());
        for i in 10..n - 8 {
            let mut flip = gz.clone();
            flip[i] ^= 0x55;
            let _ = gunzip(&flip); // must not panic
        }
    }
}
