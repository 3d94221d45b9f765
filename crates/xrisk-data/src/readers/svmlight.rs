//! svmlight / LIBSVM / LETOR text: `label [qid:Q] index:value ... [# comment]`, feature
//! indices 1-based (as in LIBSVM, a8a and MSLR), any order, no duplicates. Rows are
//! densified; the number of features is the largest index seen, or the one given.

use super::{lines, number, open, origin};
use crate::dataset::Dataset;
use crate::error::{DataError, Result};
use std::io::BufRead;
use std::path::Path;

/// How to read an svmlight file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SvmlightOptions {
    /// Number of features; `None` = the largest index in the file. An index above a given
    /// value is an error (so that train and test files agree).
    pub n_features: Option<usize>,
}

/// Parses svmlight text from `reader`; `origin` names it in errors.
pub fn parse_svmlight<R: BufRead>(
    reader: R,
    origin: &str,
    opts: SvmlightOptions,
) -> Result<Dataset> {
    let mut labels = Vec::new();
    let mut qids: Vec<u64> = Vec::new();
    let mut has_qid: Option<bool> = None;
    let mut entries: Vec<(u32, u32, f32)> = Vec::new(); // (row, 0-based column, value)
    let mut max_index = 0usize;
    for item in lines(reader, origin) {
        let (line, text) = item?;
        let content = text.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let row = labels.len() as u32;
        let mut tokens = content.split_ascii_whitespace();
        let label_text = tokens.next().unwrap_or("");
        labels.push(number(label_text, origin, line, "label")? as f32);
        let mut seen: Vec<u32> = Vec::new();
        let mut row_qid = None;
        for (pos, tok) in tokens.enumerate() {
            let Some((key, value)) = tok.split_once(':') else {
                return Err(DataError::parse(
                    origin,
                    line,
                    format!("token \"{tok}\" is not index:value"),
                ));
            };
            if key == "qid" {
                if pos != 0 {
                    return Err(DataError::parse(
                        origin,
                        line,
                        "qid must come right after the label",
                    ));
                }
                let q = value.parse::<u64>().map_err(|_| {
                    DataError::parse(
                        origin,
                        line,
                        format!("qid: \"{value}\" is not a non-negative integer"),
                    )
                })?;
                row_qid = Some(q);
                continue;
            }
            let index: usize = key.parse().map_err(|_| {
                DataError::parse(
                    origin,
                    line,
                    format!("feature index \"{key}\" is not an integer"),
                )
            })?;
            if index == 0 {
                return Err(DataError::parse(
                    origin,
                    line,
                    "feature index 0: indices are 1-based",
                ));
            }
            if let Some(n) = opts.n_features
                && index > n
            {
                return Err(DataError::parse(
                    origin,
                    line,
                    format!("feature index {index} exceeds the {n} features expected"),
                ));
            }
            if index > u32::MAX as usize {
                return Err(DataError::parse(
                    origin,
                    line,
                    format!("feature index {index} is too large"),
                ));
            }
            let v = number(value, origin, line, &format!("feature {index}"))?;
            let col = (index - 1) as u32;
            if seen.contains(&col) {
                return Err(DataError::parse(
                    origin,
                    line,
                    format!("feature index {index} appears twice"),
                ));
            }
            seen.push(col);
            max_index = max_index.max(index);
            entries.push((row, col, v as f32));
        }
        match (has_qid, row_qid) {
            (None, q) => has_qid = Some(q.is_some()),
            (Some(true), None) => {
                return Err(DataError::parse(
                    origin,
                    line,
                    "missing qid: earlier lines have one",
                ));
            }
            (Some(false), Some(_)) => {
                return Err(DataError::parse(
                    origin,
                    line,
                    "qid here but not on earlier lines",
                ));
            }
            _ => {}
        }
        if let Some(q) = row_qid {
            qids.push(q);
        }
    }
    let dim = opts.n_features.unwrap_or(max_index);
    let n = labels.len();
    let cells = n
        .checked_mul(dim)
        .filter(|&c| c <= 1 << 31)
        .ok_or_else(|| {
            DataError::Invalid(format!(
                "{origin}: {n} rows x {dim} features is too large to hold densely"
            ))
        })?;
    let mut features = vec![0.0f32; cells];
    for (r, c, v) in entries {
        features[r as usize * dim + c as usize] = v;
    }
    let mut d = Dataset::new(features, dim, labels, 1)?;
    if has_qid == Some(true) {
        d.groups = Some(qids);
    }
    Ok(d)
}

/// Reads an svmlight file (plain or `.gz`).
pub fn read_svmlight(path: &Path, opts: SvmlightOptions) -> Result<Dataset> {
    parse_svmlight(open(path)?, &origin(path), opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_letor_with_qid_comments_and_crlf() {
        let text = "2 qid:10 1:0.5 3:1.5 # doc a\r\n0 qid:10 2:-1\r\n\r\n1 qid:11 3:2 #x\n";
        let d = parse_svmlight(text.as_bytes(), "t.txt", SvmlightOptions::default()).unwrap();
        assert_eq!((d.len(), d.dim), (3, 3));
        assert_eq!(d.labels, vec![2.0, 0.0, 1.0]);
        assert_eq!(d.row(0), &[0.5, 0.0, 1.5]);
        assert_eq!(d.row(1), &[0.0, -1.0, 0.0]);
        assert_eq!(d.groups, Some(vec![10, 10, 11]));
    }

    #[test]
    fn errors_name_line_and_field() {
        let cases = [
            ("1 1:0.5\nx 2:1\n", "t:2: label: \"x\" is not a number"),
            (
                "1 1:0.5\n1 0:1\n",
                "t:2: feature index 0: indices are 1-based",
            ),
            ("1 1:0.5 1:2\n", "t:1: feature index 1 appears twice"),
            ("1 2:abc\n", "t:1: feature 2: \"abc\" is not a number"),
            (
                "1 qid:1 1:1\n1 1:1\n",
                "t:2: missing qid: earlier lines have one",
            ),
            ("1 5\n", "t:1: token \"5\" is not index:value"),
            ("1 1:nan\n", "t:1: feature 1: NaN is not a finite number"),
        ];
        for (text, want) in cases {
            let got = parse_svmlight(text.as_bytes(), "t", SvmlightOptions::default())
                .unwrap_err()
                .to_string();
            assert_eq!(got, want);
        }
        let e = parse_svmlight(
            "1 4:1\n".as_bytes(),
            "t",
            SvmlightOptions {
                n_features: Some(3),
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "t:1: feature index 4 exceeds the 3 features expected"
        );
    }

    #[test]
    fn reads_the_shared_a8a_file() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/a8a/a8a.test.svm");
        // shared/ lies beside the checkout, here and in CI.
        let d = read_svmlight(
            &path,
            SvmlightOptions {
                n_features: Some(123),
            },
        )
        .unwrap();
        assert_eq!((d.len(), d.dim), (9865, 123));
        assert!(d.labels.iter().all(|&l| l == 1.0 || l == -1.0));
    }
}
