//! The checkpoint container of `xrisk train`: named `f32` arrays, exact `f64` scalars and
//! texts in one file, closed by a CRC-32, and written atomically (temporary file, fsync,
//! rename, fsync of the folder), so that a crash or a full disk leaves the previous file
//! whole.
//!
//! Layout (little-endian): `XRISKSNP`, format version `u32`, the counts of arrays, scalars
//! and texts (`u32` each); per array its name (`u32` length + UTF-8), element count (`u64`)
//! and elements; per scalar its name and the `u64` bits of the `f64`; per text its name,
//! byte count (`u64`) and bytes; then the CRC-32 of everything before it.
//!
//! ```
//! use xrisk_data::snapshot::Snapshot;
//! let mut s = Snapshot::new();
//! s.put_array("loss.u", vec![0.25, 0.5]);
//! s.put_scalar("run.epoch", 3.0);
//! let path = std::env::temp_dir().join("xrisk-doc-snapshot.bin");
//! s.write_atomic(&path)?;
//! let back = Snapshot::read(&path)?;
//! assert_eq!(back.array("loss.u")?, &[0.25, 0.5]);
//! assert_eq!(back.count("run.epoch")?, 3);
//! # std::fs::remove_file(&path).ok();
//! # Ok::<(), xrisk_data::DataError>(())
//! ```

use crate::error::{DataError, Result};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"XRISKSNP";
const VERSION: u32 = 1;

/// Named values to save and restore exactly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    arrays: BTreeMap<String, Vec<f32>>,
    scalars: BTreeMap<String, f64>,
    texts: BTreeMap<String, String>,
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores an array under `name` (replacing any earlier one).
    pub fn put_array(&mut self, name: impl Into<String>, values: Vec<f32>) {
        self.arrays.insert(name.into(), values);
    }

    /// Stores a scalar (kept bit for bit).
    pub fn put_scalar(&mut self, name: impl Into<String>, value: f64) {
        self.scalars.insert(name.into(), value);
    }

    /// Stores a text.
    pub fn put_text(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.texts.insert(name.into(), value.into());
    }

    /// The array `name`, or an error naming it.
    pub fn array(&self, name: &str) -> Result<&[f32]> {
        self.arrays
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| missing("array", name))
    }

    /// The array `name` if present.
    pub fn try_array(&self, name: &str) -> Option<&[f32]> {
        self.arrays.get(name).map(Vec::as_slice)
    }

    /// The scalar `name`, or an error naming it.
    pub fn scalar(&self, name: &str) -> Result<f64> {
        self.scalars
            .get(name)
            .copied()
            .ok_or_else(|| missing("scalar", name))
    }

    /// The scalar `name` as a count (a non-negative whole number).
    pub fn count(&self, name: &str) -> Result<u64> {
        let v = self.scalar(name)?;
        if v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(53) {
            Ok(v as u64)
        } else {
            Err(DataError::Invalid(format!(
                "checkpoint entry `{name}` = {v} is not a count"
            )))
        }
    }

    /// The text `name`, or an error naming it.
    pub fn text(&self, name: &str) -> Result<&str> {
        self.texts
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| missing("text", name))
    }

    /// Names of the arrays that start with `prefix`.
    pub fn array_names<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.arrays
            .keys()
            .map(String::as_str)
            .filter(move |k| k.starts_with(prefix))
    }

    /// Names of all scalars.
    pub fn scalar_names(&self) -> impl Iterator<Item = &str> {
        self.scalars.keys().map(String::as_str)
    }

    /// Names of all texts.
    pub fn text_names(&self) -> impl Iterator<Item = &str> {
        self.texts.keys().map(String::as_str)
    }

    /// The encoded bytes (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        for n in [self.arrays.len(), self.scalars.len(), self.texts.len()] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        let name = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        for (k, v) in &self.arrays {
            name(&mut out, k);
            out.extend_from_slice(&(v.len() as u64).to_le_bytes());
            out.reserve(v.len() * 4);
            for x in v {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        for (k, v) in &self.scalars {
            name(&mut out, k);
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        for (k, v) in &self.texts {
            name(&mut out, k);
            out.extend_from_slice(&(v.len() as u64).to_le_bytes());
            out.extend_from_slice(v.as_bytes());
        }
        let mut crc = flate2::Crc::new();
        crc.update(&out);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out
    }

    /// Decodes `bytes` read from `origin` (named in errors); rejects truncated, corrupted or
    /// foreign files without panicking.
    pub fn decode(bytes: &[u8], origin: &str) -> Result<Snapshot> {
        let bad = |m: String| DataError::parse(origin, 0, m);
        if bytes.len() < MAGIC.len() + 20 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("not an xrisk checkpoint (wrong magic bytes)".into()));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 4);
        let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
        let mut crc = flate2::Crc::new();
        crc.update(body);
        if crc.sum() != stored {
            return Err(bad(format!(
                "checksum mismatch (stored {stored:08x}, computed {:08x}): the file is corrupt or truncated",
                crc.sum()
            )));
        }
        let mut r = Reader {
            rest: &body[MAGIC.len()..],
            origin,
        };
        let version = r.u32("format version")?;
        if version != VERSION {
            return Err(bad(format!(
                "format version {version}; this xrisk reads version {VERSION}"
            )));
        }
        let (na, ns, nt) = (r.u32("counts")?, r.u32("counts")?, r.u32("counts")?);
        let mut s = Snapshot::new();
        let mut last = None;
        for _ in 0..na {
            let k = r.name(&mut last)?;
            let n = r.u64("array length")?;
            let raw = r.take_n(n, 4, &k)?;
            let v = raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            s.arrays.insert(k, v);
        }
        let mut last = None;
        for _ in 0..ns {
            let k = r.name(&mut last)?;
            let bits = r.u64(&k)?;
            s.scalars.insert(k, f64::from_bits(bits));
        }
        let mut last = None;
        for _ in 0..nt {
            let k = r.name(&mut last)?;
            let n = r.u64("text length")?;
            let raw = r.take_n(n, 1, &k)?;
            let v = String::from_utf8(raw.to_vec())
                .map_err(|_| bad(format!("text `{k}` is not UTF-8")))?;
            s.texts.insert(k, v);
        }
        if !r.rest.is_empty() {
            return Err(bad(format!("{} unexpected trailing bytes", r.rest.len())));
        }
        Ok(s)
    }

    /// Reads the snapshot at `path`.
    pub fn read(path: &Path) -> Result<Snapshot> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        Snapshot::decode(&bytes, &path.display().to_string())
    }

    /// Writes the snapshot to `path` atomically: into `path.tmp`, fsync, rename over `path`,
    /// fsync of the folder. On any failure the temporary file is removed and `path` is as it
    /// was.
    pub fn write_atomic(&self, path: &Path) -> Result<()> {
        let bytes = self.encode();
        write_atomic(path, |f| f.write_all(&bytes))
    }
}

/// Writes a file atomically through `fill` (see [`Snapshot::write_atomic`]).
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = tmp_path(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        fill(&mut f)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Persist the rename itself; not every file system lets a folder be opened.
            if let Ok(d) = std::fs::File::open(dir) {
                d.sync_all().ok();
            }
        }
        Ok(())
    })();
    result.map_err(|e: std::io::Error| {
        std::fs::remove_file(&tmp).ok();
        DataError::io(path, e)
    })
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn missing(kind: &str, name: &str) -> DataError {
    DataError::Invalid(format!(
        "the checkpoint has no {kind} `{name}`: it was written by another configuration or version"
    ))
}

struct Reader<'a> {
    rest: &'a [u8],
    origin: &'a str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.rest.len() < n {
            return Err(DataError::parse(
                self.origin,
                0,
                format!("truncated while reading {what}"),
            ));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn take_n(&mut self, n: u64, width: u64, what: &str) -> Result<&'a [u8]> {
        let bytes = n
            .checked_mul(width)
            .and_then(|b| usize::try_from(b).ok())
            .ok_or_else(|| DataError::parse(self.origin, 0, format!("`{what}` is too long")))?;
        self.take(bytes, what)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// The next entry name; names of a section must come in strictly increasing order (the
    /// encoder writes them sorted), so a duplicate is an error rather than a silent overwrite.
    fn name(&mut self, previous: &mut Option<String>) -> Result<String> {
        let n = self.u32("a name length")?;
        let raw = self.take_n(u64::from(n), 1, "a name")?;
        let name = String::from_utf8(raw.to_vec())
            .map_err(|_| DataError::parse(self.origin, 0, "an entry name is not UTF-8"))?;
        if previous.as_ref().is_some_and(|p| *p >= name) {
            return Err(DataError::parse(
                self.origin,
                0,
                format!("entry `{name}` is duplicated or out of order"),
            ));
        }
        *previous = Some(name.clone());
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        let mut s = Snapshot::new();
        s.put_array("model.0", vec![1.5, -0.0, f32::MIN_POSITIVE, 3.25e-30]);
        s.put_array("empty", vec![]);
        s.put_scalar("lr", 0.1 + 0.2);
        s.put_scalar("epoch", 3.0);
        s.put_text("config", "[loss]\nkind = \"ap\"\n");
        s
    }

    #[test]
    fn round_trips_bit_for_bit() {
        let s = sample();
        let back = Snapshot::decode(&s.encode(), "mem").unwrap();
        assert_eq!(back, s);
        assert_eq!(
            back.scalar("lr").unwrap().to_bits(),
            (0.1f64 + 0.2).to_bits()
        );
        assert_eq!(back.count("epoch").unwrap(), 3);
        assert!(back.count("lr").is_err());
    }

    #[test]
    fn every_flipped_byte_and_every_truncation_is_rejected() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x5a;
            assert!(Snapshot::decode(&b, "mem").is_err(), "flip at {i} accepted");
            assert!(
                Snapshot::decode(&bytes[..i], "mem").is_err(),
                "truncation to {i} accepted"
            );
        }
    }

    #[test]
    fn missing_entries_are_named() {
        let e = sample().array("optimizer.3.buf").unwrap_err().to_string();
        assert!(e.contains("optimizer.3.buf"), "{e}");
    }

    /// A writer that fails like a full disk after `room` bytes.
    #[test]
    fn a_failed_write_leaves_the_old_file_whole_and_no_temporary() {
        let dir = std::env::temp_dir().join(format!("xrisk-snap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("checkpoint.bin");
        sample().write_atomic(&path).unwrap();
        let before = std::fs::read(&path).unwrap();
        let err = write_atomic(&path, |f| {
            f.write_all(b"partial")?;
            Err(std::io::Error::from_raw_os_error(28)) // ENOSPC
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("checkpoint.bin"), "{err}");
        assert!(err.contains("No space left on device"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert!(!tmp_path(&path).exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}
