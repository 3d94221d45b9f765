//! UCI Letter Recognition (`letter-recognition.data`, shipped in Debian's `opencv-doc`): one
//! row per sample, the class letter `A`–`Z` first, then 16 integer features, comma-separated.
//! Labels become class indices 0–25 (`A` = 0); errors name the file, line and field.

use super::{lines, number, open, origin};
use crate::dataset::Dataset;
use crate::error::{DataError, Result};
use std::io::BufRead;
use std::path::Path;

/// Features per row.
pub const FEATURES: usize = 16;

/// Parses letter-recognition text.
pub fn parse_letter<R: BufRead>(reader: R, origin: &str) -> Result<Dataset> {
    let (mut features, mut labels) = (Vec::new(), Vec::new());
    for item in lines(reader, origin) {
        let (line, text) = item?;
        if text.trim().is_empty() {
            continue;
        }
        let mut fields = text.split(',');
        let class = fields.next().unwrap_or("").trim();
        let label = match class.as_bytes() {
            [c @ b'A'..=b'Z'] => f32::from(c - b'A'),
            _ => {
                return Err(DataError::parse(
                    origin,
                    line,
                    format!("field 1: class \"{class}\" is not a letter A–Z"),
                ));
            }
        };
        let mut n = 0;
        for (j, f) in fields.enumerate() {
            features.push(number(f, origin, line, &format!("field {}", j + 2))? as f32);
            n += 1;
        }
        if n != FEATURES {
            return Err(DataError::parse(
                origin,
                line,
                format!("{n} features, expected {FEATURES}"),
            ));
        }
        labels.push(label);
    }
    Dataset::new(features, FEATURES, labels, 1)
}

/// Reads a letter-recognition file (plain or gzip).
pub fn read_letter(path: &Path) -> Result<Dataset> {
    parse_letter(open(path)?, &origin(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_and_names_bad_fields() {
        let ok = "T,2,8,3,5,1,8,13,0,6,6,10,8,0,8,0,8\nA,1,1,3,2,1,8,2,2,2,8,2,8,1,6,2,7\n";
        let d = parse_letter(ok.as_bytes(), "l.data").unwrap();
        assert_eq!((d.len(), d.dim), (2, 16));
        assert_eq!(d.labels, vec![19.0, 0.0]);
        assert_eq!(d.row(1)[15], 7.0);
        let e = parse_letter("a,1,2\n".as_bytes(), "l.data").unwrap_err();
        assert!(
            e.to_string().contains("l.data:1") && e.to_string().contains("class"),
            "{e}"
        );
        let e =
            parse_letter("T,2,8,3,5,1,8,13,0,6,6,10,8,0,8,0,x\n".as_bytes(), "l.data").unwrap_err();
        assert!(e.to_string().contains("field 17"), "{e}");
        let e = parse_letter("T,2,8\n".as_bytes(), "l.data").unwrap_err();
        assert!(e.to_string().contains("2 features"), "{e}");
    }
}
