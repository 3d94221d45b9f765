//! Streaming readers with line-numbered errors. Each text format has a `parse_*` function
//! over any `BufRead` (used by the fuzz targets) and a `read_*` function over a path
//! (plain or gzip-compressed, detected by the gzip magic bytes).

pub mod idx;
pub mod image_folder;
pub mod keel;
pub mod letter;
pub mod mail;
pub mod mil;
pub mod movielens;
pub mod parquet;
pub mod predictions;
pub mod svmlight;
pub mod table;

use crate::error::{DataError, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Opens `path` for buffered reading, transparently decompressing gzip.
pub fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic).map_err(|e| DataError::io(path, e))?;
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(
            file,
        ))))
    } else {
        Ok(Box::new(BufReader::with_capacity(1 << 16, file)))
    }
}

/// The file name used in error messages.
pub(crate) fn origin(path: &Path) -> String {
    path.display().to_string()
}

/// Iterates over the lines of `reader` as `(1-based line number, line without the end of
/// line)`, turning read errors (including invalid UTF-8) into parse errors at that line.
pub(crate) fn lines<'a, R: BufRead + 'a>(
    reader: R,
    origin: &'a str,
) -> impl Iterator<Item = Result<(u64, String)>> + 'a {
    reader.lines().enumerate().map(move |(i, l)| {
        let line = i as u64 + 1;
        l.map(|s| (line, s.trim_end_matches('\r').to_string()))
            .map_err(|e| DataError::parse(origin, line, format!("cannot read line: {e}")))
    })
}

/// Parses a finite number in field `what`, for error messages like
/// `file:12: column "score": "n/a" is not a number`.
pub(crate) fn number(text: &str, origin: &str, line: u64, what: &str) -> Result<f64> {
    let t = text.trim();
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(DataError::parse(
            origin,
            line,
            format!("{what}: {v} is not a finite number"),
        )),
        Err(_) if t.is_empty() => Err(DataError::parse(
            origin,
            line,
            format!("{what}: empty field, expected a number"),
        )),
        Err(_) => Err(DataError::parse(
            origin,
            line,
            format!("{what}: \"{t}\" is not a number"),
        )),
    }
}
